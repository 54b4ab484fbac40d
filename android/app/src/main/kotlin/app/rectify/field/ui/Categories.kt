package app.rectify.field.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalConfiguration
import androidx.compose.ui.text.TextStyle
import app.rectify.core.ProblemCategory
import app.rectify.core.RectifyException
import app.rectify.kit.FieldLedger
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.map

/** The problem types of one key task (任务), in the catalogue's order. */
data class CategoryGroup(
    val taskCode: String,
    val taskZh: String,
    val taskEn: String,
    val categories: List<ProblemCategory>,
)

/** The catalogue of problem types, for a picker and for turning an issue's category code into words. */
data class CategoryCatalogue(val categories: List<ProblemCategory>) {
    private val byCode: Map<String, ProblemCategory> = categories.associateBy { it.code }

    val groups: List<CategoryGroup> = categories.groupBy { it.taskCode }.map { (task, members) ->
        CategoryGroup(task, members.first().taskZh, members.first().taskEn, members)
    }

    operator fun get(code: String): ProblemCategory? = byCode[code]

    companion object {
        val EMPTY = CategoryCatalogue(emptyList())
    }
}

/**
 * The catalogue as it stands, read again after each change (a sync can bring a new catalogue). Without one
 * (a ledger that cannot be read) rows fall back to the raw codes rather than failing the screen.
 */
fun FieldLedger.catalogue(): Flow<CategoryCatalogue> = changes
    .map {
        try {
            CategoryCatalogue(categories())
        } catch (_: RectifyException) {
            CategoryCatalogue.EMPTY
        }
    }
    .distinctUntilChanged()

/** True when the phone shows Chinese: then the Chinese labels stand alone. */
@Composable
fun isChineseUi(): Boolean = LocalConfiguration.current.locales[0].language == "zh"

/**
 * A problem type in the campaign's own words (Chinese) first; on a phone set to another language, the
 * English label beneath it, so both readers recognise it.
 */
@Composable
fun CategoryName(
    catalogue: CategoryCatalogue,
    code: String,
    modifier: Modifier = Modifier,
    style: TextStyle = MaterialTheme.typography.titleMedium,
) {
    val category = catalogue[code]
    BilingualText(primary = category?.zh ?: code, secondary = category?.en, modifier = modifier, style = style)
}

@Composable
fun BilingualText(
    primary: String,
    secondary: String?,
    modifier: Modifier = Modifier,
    style: TextStyle = MaterialTheme.typography.titleMedium,
) {
    Column(modifier) {
        Text(primary, style = style)
        if (secondary != null && !isChineseUi()) {
            Text(secondary, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.onSurfaceVariant)
        }
    }
}
