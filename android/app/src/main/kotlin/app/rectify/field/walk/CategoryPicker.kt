package app.rectify.field.walk

import androidx.compose.foundation.background
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.navigationBarsPadding
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.ModalBottomSheet
import androidx.compose.material3.Text
import androidx.compose.material3.rememberModalBottomSheetState
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import app.rectify.core.ProblemCategory
import app.rectify.field.R
import app.rectify.field.ui.BilingualText
import app.rectify.field.ui.CategoryCatalogue
import app.rectify.field.ui.GloveTarget

/** The problem types under their key task, each with its Chinese name first and its deadline. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun CategoryPickerSheet(
    catalogue: CategoryCatalogue,
    selectedCode: String?,
    onPick: (ProblemCategory) -> Unit,
    onDismiss: () -> Unit,
) {
    val sheetState = rememberModalBottomSheetState(skipPartiallyExpanded = true)
    ModalBottomSheet(onDismissRequest = onDismiss, sheetState = sheetState) {
        Text(
            stringResource(R.string.walk_category_title),
            style = MaterialTheme.typography.titleLarge,
            modifier = Modifier.padding(horizontal = 16.dp, vertical = 8.dp),
        )
        if (catalogue.groups.isEmpty()) {
            Text(
                stringResource(R.string.walk_category_none),
                style = MaterialTheme.typography.bodyLarge,
                modifier = Modifier.padding(16.dp),
            )
        }
        LazyColumn(Modifier.navigationBarsPadding()) {
            catalogue.groups.forEach { group ->
                item(key = "task:${group.taskCode}") {
                    BilingualText(
                        primary = group.taskZh,
                        secondary = group.taskEn,
                        style = MaterialTheme.typography.titleSmall.copy(color = MaterialTheme.colorScheme.primary),
                        modifier = Modifier
                            .fillMaxWidth()
                            .background(MaterialTheme.colorScheme.surfaceVariant)
                            .padding(horizontal = 16.dp, vertical = 8.dp),
                    )
                }
                items(group.categories, key = { it.code }) { category ->
                    CategoryRow(category, selected = category.code == selectedCode, onClick = { onPick(category) })
                    HorizontalDivider()
                }
            }
        }
    }
}

@Composable
private fun CategoryRow(category: ProblemCategory, selected: Boolean, onClick: () -> Unit) {
    Row(
        modifier = Modifier
            .fillMaxWidth()
            .heightIn(min = GloveTarget)
            .clickable(onClick = onClick)
            .padding(horizontal = 16.dp, vertical = 8.dp),
        verticalAlignment = Alignment.CenterVertically,
    ) {
        BilingualText(
            primary = category.zh,
            secondary = category.en,
            style = MaterialTheme.typography.titleMedium.copy(
                fontWeight = if (selected) FontWeight.Bold else FontWeight.Normal,
            ),
            modifier = Modifier.weight(1f),
        )
        Column(horizontalAlignment = Alignment.End, verticalArrangement = Arrangement.spacedBy(2.dp)) {
            if (category.veto) {
                Text(
                    stringResource(R.string.category_veto),
                    style = MaterialTheme.typography.labelMedium,
                    color = MaterialTheme.colorScheme.error,
                )
            }
            Text(
                deadlineText(category),
                style = MaterialTheme.typography.labelMedium,
                color = MaterialTheme.colorScheme.onSurfaceVariant,
            )
        }
    }
}

@Composable
fun deadlineText(category: ProblemCategory): String {
    val days = category.deadlineDays.toInt()
    return if (days == 0) {
        stringResource(R.string.category_deadline_same_day)
    } else {
        stringResource(R.string.category_deadline_days, days)
    }
}
