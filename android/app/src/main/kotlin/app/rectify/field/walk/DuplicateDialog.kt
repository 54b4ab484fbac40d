package app.rectify.field.walk

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.OpenInNew
import androidx.compose.material.icons.filled.ContentCopy
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.Icon
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.rectify.core.IssueId
import app.rectify.core.NearbyIssue
import app.rectify.field.R
import app.rectify.field.ui.CategoryCatalogue
import app.rectify.field.ui.CategoryName
import app.rectify.field.ui.GloveTarget
import app.rectify.field.ui.formatDate
import kotlin.math.roundToInt

/**
 * Open issues of the same type close by: the inspector records anyway (a second problem of the same kind),
 * opens the existing one (the same problem, already listed), or goes back to the form.
 */
@Composable
fun DuplicateDialog(
    check: DuplicateCheck,
    catalogue: CategoryCatalogue,
    onRecordAnyway: () -> Unit,
    onOpen: (IssueId) -> Unit,
    onCancel: () -> Unit,
) {
    AlertDialog(
        onDismissRequest = onCancel,
        icon = { Icon(Icons.Filled.ContentCopy, contentDescription = null) },
        title = { Text(stringResource(R.string.duplicate_title)) },
        text = {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                Text(
                    stringResource(R.string.duplicate_text, check.nearby.size, DUPLICATE_RADIUS_M.roundToInt()),
                    style = MaterialTheme.typography.bodyMedium,
                )
                LazyColumn(Modifier.heightIn(max = 320.dp)) {
                    items(check.nearby, key = { it.issue.id }) { nearby ->
                        NearbyRow(nearby, catalogue, onOpen = { onOpen(nearby.issue.id) })
                        HorizontalDivider()
                    }
                }
            }
        },
        confirmButton = {
            TextButton(onClick = onRecordAnyway, modifier = Modifier.heightIn(min = GloveTarget)) {
                Text(stringResource(R.string.duplicate_record_anyway))
            }
        },
        dismissButton = {
            TextButton(onClick = onCancel, modifier = Modifier.heightIn(min = GloveTarget)) {
                Text(stringResource(R.string.action_cancel))
            }
        },
    )
}

@Composable
private fun NearbyRow(nearby: NearbyIssue, catalogue: CategoryCatalogue, onOpen: () -> Unit) {
    Row(
        modifier = Modifier
            .fillMaxWidth()
            .heightIn(min = GloveTarget)
            .clickable(onClick = onOpen)
            .padding(vertical = 8.dp),
        verticalAlignment = Alignment.CenterVertically,
    ) {
        Column(Modifier.weight(1f)) {
            CategoryName(catalogue, nearby.issue.category, style = MaterialTheme.typography.titleSmall)
            Text(
                stringResource(
                    R.string.duplicate_row,
                    nearby.distanceM.roundToInt(),
                    formatDate(nearby.issue.reportedAt),
                ),
                style = MaterialTheme.typography.bodySmall,
                color = MaterialTheme.colorScheme.onSurfaceVariant,
            )
        }
        Icon(
            Icons.AutoMirrored.Filled.OpenInNew,
            contentDescription = stringResource(R.string.duplicate_open_existing),
            tint = MaterialTheme.colorScheme.primary,
        )
    }
}
