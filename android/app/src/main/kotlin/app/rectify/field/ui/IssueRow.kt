package app.rectify.field.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.style.TextOverflow
import androidx.compose.ui.unit.dp
import app.rectify.core.IssueSummary
import app.rectify.field.R

/**
 * One issue in a list: its problem type, status, dates and sync state. An overdue issue is drawn in the
 * error colour, deadline and all, because that is what a village is summoned for.
 */
@Composable
fun IssueRow(
    issue: IssueSummary,
    catalogue: CategoryCatalogue,
    onClick: () -> Unit,
    modifier: Modifier = Modifier,
    showVillage: Boolean = false,
) {
    val overdue = issue.overdue
    val colors = if (overdue) {
        CardDefaults.cardColors(
            containerColor = MaterialTheme.colorScheme.errorContainer,
            contentColor = MaterialTheme.colorScheme.onErrorContainer,
        )
    } else {
        CardDefaults.cardColors()
    }
    Card(onClick = onClick, colors = colors, modifier = modifier.fillMaxWidth().heightIn(min = GloveTarget)) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Row(verticalAlignment = Alignment.Top) {
                CategoryName(catalogue, issue.category, modifier = Modifier.weight(1f))
                SyncBadge(issue)
            }
            if (showVillage) {
                Text(issue.villageName, style = MaterialTheme.typography.bodyMedium)
            }
            Text(
                stringResource(issue.status.labelRes()),
                style = MaterialTheme.typography.labelLarge,
                fontWeight = FontWeight.SemiBold,
            )
            val deadline = formatDate(issue.deadline)
            Text(
                if (overdue) {
                    stringResource(R.string.issue_overdue_since, deadline)
                } else {
                    stringResource(R.string.issue_deadline, deadline)
                },
                style = MaterialTheme.typography.bodyMedium,
                color = if (overdue) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurfaceVariant,
                fontWeight = if (overdue) FontWeight.Bold else FontWeight.Normal,
            )
            Text(
                stringResource(R.string.issue_reported_on, formatDate(issue.reportedAt)),
                style = MaterialTheme.typography.bodySmall,
            )
            if (issue.reworkCount > 0u) {
                Text(
                    stringResource(R.string.issue_rework_count, issue.reworkCount.toInt()),
                    style = MaterialTheme.typography.bodySmall,
                )
            }
            issue.note?.takeIf { it.isNotBlank() }?.let { note ->
                Text(note, style = MaterialTheme.typography.bodySmall, maxLines = 2, overflow = TextOverflow.Ellipsis)
            }
        }
    }
}
