package app.rectify.field.detail

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.CameraAlt
import androidx.compose.material.icons.filled.Check
import androidx.compose.material.icons.filled.Close
import androidx.compose.material.icons.filled.Warning
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.SnackbarHost
import androidx.compose.material3.SnackbarHostState
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.rectify.core.HistoryEntry
import app.rectify.core.IssueConflict
import app.rectify.core.IssueDetail
import app.rectify.core.IssueId
import app.rectify.field.R
import app.rectify.field.ui.BigButton
import app.rectify.field.ui.BigOutlinedButton
import app.rectify.field.ui.BusyIndicator
import app.rectify.field.ui.CategoryCatalogue
import app.rectify.field.ui.CategoryName
import app.rectify.field.ui.EmptyState
import app.rectify.field.ui.Fact
import app.rectify.field.ui.LoadingBox
import app.rectify.field.ui.NoticeCard
import app.rectify.field.ui.NoticeTone
import app.rectify.field.ui.ScrollingColumn
import app.rectify.field.ui.SectionCard
import app.rectify.field.ui.evidenceFlagLabel
import app.rectify.field.ui.formatDate
import app.rectify.field.ui.formatDateTime
import app.rectify.field.ui.hasInternet
import app.rectify.field.ui.historyKindLabel
import app.rectify.field.ui.labelRes
import app.rectify.field.ui.rectifyViewModel
import app.rectify.field.ui.text
import kotlinx.coroutines.launch

/**
 * Everything about one issue: the photos side by side, where it stands, its history and anything doubtful
 * about its evidence; and, for the people who may, the strike-off or the acceptance decision.
 *
 * [struckOff] is set by the strike-off screen when it returns after recording one.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun IssueDetailScreen(
    issueId: IssueId,
    onBack: () -> Unit,
    onStrikeOff: (IssueId) -> Unit,
    struckOff: Boolean,
    onStruckOffShown: () -> Unit,
) {
    val appContext = LocalContext.current.applicationContext
    val viewModel = rectifyViewModel { runtime, _ ->
        IssueDetailViewModel(runtime.ledger, runtime.backgroundSync, issueId, isOnline = { appContext.hasInternet() })
    }
    val state by viewModel.detail.collectAsStateWithLifecycle()
    val profile by viewModel.profile.collectAsStateWithLifecycle()
    val catalogue by viewModel.catalogue.collectAsStateWithLifecycle()
    val busy by viewModel.busy.collectAsStateWithLifecycle()
    val snackbar = remember { SnackbarHostState() }
    var accepting by rememberSaveable { mutableStateOf(false) }
    var rejecting by rememberSaveable { mutableStateOf(false) }

    LaunchedEffect(viewModel) { viewModel.messages.collect { snackbar.showSnackbar(it.resolve(appContext)) } }
    // The snackbar runs in the screen's scope: clearing the flag must not cancel it.
    val scope = rememberCoroutineScope()
    LaunchedEffect(struckOff) {
        if (struckOff) {
            val words = if (appContext.hasInternet()) R.string.detail_struck_off_online else R.string.detail_struck_off_offline
            scope.launch { snackbar.showSnackbar(appContext.getString(words)) }
            onStruckOffShown()
        }
    }

    val loaded = (state as? DetailState.Loaded)?.detail
    val actions = loaded?.let { DetailActions.of(profile, it) } ?: DetailActions.NONE

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(stringResource(R.string.detail_title)) },
                navigationIcon = {
                    IconButton(onClick = onBack) {
                        Icon(Icons.AutoMirrored.Filled.ArrowBack, stringResource(R.string.action_back))
                    }
                },
            )
        },
        snackbarHost = { SnackbarHost(snackbar) },
        bottomBar = {
            if (actions.canStrikeOff || actions.canDecide) {
                ActionBar(
                    actions = actions,
                    busy = busy,
                    onStrikeOff = { onStrikeOff(issueId) },
                    onAccept = { accepting = true },
                    onReject = { rejecting = true },
                )
            }
        },
    ) { padding ->
        val modifier = Modifier.padding(padding).fillMaxSize()
        when (val current = state) {
            DetailState.Loading -> LoadingBox(modifier)
            is DetailState.Failed -> EmptyState(current.message.text(), modifier)
            is DetailState.Loaded -> DetailContent(current.detail, catalogue, modifier)
        }
    }

    if (accepting) {
        DecisionDialog(
            title = stringResource(R.string.detail_accept_title),
            label = stringResource(R.string.detail_accept_note),
            confirm = stringResource(R.string.detail_accept),
            required = false,
            onConfirm = {
                viewModel.accept(it)
                accepting = false
            },
            onDismiss = { accepting = false },
        )
    }
    if (rejecting) {
        DecisionDialog(
            title = stringResource(R.string.detail_reject_title),
            label = stringResource(R.string.detail_reject_reason),
            confirm = stringResource(R.string.detail_reject),
            required = true,
            onConfirm = {
                viewModel.reject(it)
                rejecting = false
            },
            onDismiss = { rejecting = false },
        )
    }
}

@Composable
private fun DetailContent(detail: IssueDetail, catalogue: CategoryCatalogue, modifier: Modifier) {
    val issue = detail.issue
    ScrollingColumn(modifier) {
        CategoryName(catalogue, issue.category, style = MaterialTheme.typography.headlineSmall)
        PhotoPair(detail.photos)

        SectionCard(title = stringResource(R.string.detail_status_section)) {
            Text(
                stringResource(issue.status.labelRes()),
                style = MaterialTheme.typography.titleLarge,
                fontWeight = FontWeight.Bold,
            )
            val deadline = formatDate(issue.deadline)
            Fact(
                label = stringResource(R.string.detail_deadline),
                value = if (detail.overdue) stringResource(R.string.issue_overdue_since, deadline) else deadline,
                valueColor = if (detail.overdue) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface,
            )
            Fact(stringResource(R.string.detail_village), stringResource(R.string.detail_village_value, detail.villageName, detail.villageCode))
            Fact(
                stringResource(R.string.detail_reported),
                stringResource(
                    R.string.detail_reported_value,
                    formatDateTime(issue.reportedAt),
                    detail.reportedByName ?: issue.reportedBy,
                ),
            )
            Fact(stringResource(R.string.detail_round), detail.round)
            issue.note?.takeIf { it.isNotBlank() }?.let { Fact(stringResource(R.string.detail_note), it) }
            issue.strikeOffNote?.takeIf { it.isNotBlank() }?.let { Fact(stringResource(R.string.detail_strike_off_note), it) }
            issue.lastRejectionReason?.takeIf { it.isNotBlank() }?.let {
                Fact(stringResource(R.string.detail_rejection_reason), it, valueColor = MaterialTheme.colorScheme.error)
            }
            issue.acceptedAt?.let { Fact(stringResource(R.string.detail_accepted_at), formatDateTime(it)) }
            if (issue.reworkCount > 0u || issue.reopenCount > 0u) {
                Fact(
                    stringResource(R.string.detail_rework),
                    stringResource(R.string.detail_rework_value, issue.reworkCount.toInt(), issue.reopenCount.toInt()),
                )
            }
        }

        if (detail.evidenceFlags.isNotEmpty()) {
            NoticeCard(
                icon = Icons.Filled.Warning,
                title = stringResource(R.string.detail_evidence_title),
                text = detail.evidenceFlags.map { evidenceFlagLabel(it) }.joinToString("\n"),
                tone = NoticeTone.Warning,
            )
        }

        if (issue.conflicts.isNotEmpty()) {
            SectionCard(title = stringResource(R.string.detail_conflicts_title)) {
                Text(stringResource(R.string.detail_conflicts_intro), style = MaterialTheme.typography.bodyMedium)
                issue.conflicts.forEach { ConflictRow(it) }
            }
        }

        SectionCard(title = stringResource(R.string.detail_history_title)) {
            detail.history.forEachIndexed { index, entry ->
                if (index > 0) HorizontalDivider()
                HistoryRow(entry)
            }
        }
    }
}

@Composable
private fun HistoryRow(entry: HistoryEntry) {
    Column(Modifier.padding(vertical = 4.dp), verticalArrangement = Arrangement.spacedBy(2.dp)) {
        Row(verticalAlignment = Alignment.CenterVertically) {
            Text(historyKindLabel(entry.kind), style = MaterialTheme.typography.titleSmall, modifier = Modifier.weight(1f))
            Text(
                formatDateTime(entry.recordedAt),
                style = MaterialTheme.typography.labelMedium,
                color = MaterialTheme.colorScheme.onSurfaceVariant,
            )
        }
        Text(entry.author, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.onSurfaceVariant)
        if (entry.text.isNotBlank()) Text(entry.text, style = MaterialTheme.typography.bodyMedium)
        if (entry.photoCount > 0u) {
            Text(stringResource(R.string.detail_history_photos, entry.photoCount.toInt()), style = MaterialTheme.typography.bodySmall)
        }
        val refused = entry.refusedReason
        when {
            refused != null -> Text(
                stringResource(R.string.detail_history_refused, refused),
                style = MaterialTheme.typography.bodySmall,
                color = MaterialTheme.colorScheme.error,
            )
            entry.officeSeq == null -> Text(
                stringResource(R.string.detail_history_unsent),
                style = MaterialTheme.typography.bodySmall,
                color = MaterialTheme.colorScheme.tertiary,
            )
        }
    }
}

@Composable
private fun ConflictRow(conflict: IssueConflict) {
    Column(Modifier.padding(vertical = 4.dp)) {
        Text(
            stringResource(R.string.detail_conflict_line, historyKindLabel(conflict.kind), conflict.author),
            style = MaterialTheme.typography.titleSmall,
        )
        Text(conflict.reason, style = MaterialTheme.typography.bodyMedium, color = MaterialTheme.colorScheme.error)
        conflict.supersededBy?.let {
            Text(stringResource(R.string.detail_conflict_superseded, it), style = MaterialTheme.typography.bodySmall)
        }
    }
}

@Composable
private fun ActionBar(
    actions: DetailActions,
    busy: Boolean,
    onStrikeOff: () -> Unit,
    onAccept: () -> Unit,
    onReject: () -> Unit,
) {
    Surface(tonalElevation = 3.dp) {
        Column(Modifier.padding(horizontal = 16.dp, vertical = 8.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            if (busy) BusyIndicator()
            if (actions.canStrikeOff && !busy) {
                BigButton(
                    text = stringResource(R.string.detail_strike_off),
                    onClick = onStrikeOff,
                    icon = Icons.Filled.CameraAlt,
                    modifier = Modifier.fillMaxWidth(),
                )
            }
            if (actions.canDecide && !busy) {
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    BigOutlinedButton(
                        text = stringResource(R.string.detail_reject),
                        onClick = onReject,
                        icon = Icons.Filled.Close,
                        modifier = Modifier.weight(1f),
                    )
                    BigButton(
                        text = stringResource(R.string.detail_accept),
                        onClick = onAccept,
                        icon = Icons.Filled.Check,
                        modifier = Modifier.weight(1f),
                    )
                }
            }
        }
    }
}

/** Accept (an optional note) or reject (a reason the village must read: required). */
@Composable
private fun DecisionDialog(
    title: String,
    label: String,
    confirm: String,
    required: Boolean,
    onConfirm: (String) -> Unit,
    onDismiss: () -> Unit,
) {
    var text by rememberSaveable { mutableStateOf("") }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(title) },
        text = {
            OutlinedTextField(
                value = text,
                onValueChange = { text = it },
                label = { Text(label) },
                minLines = 3,
                isError = required && text.isBlank(),
                supportingText = if (required) {
                    { Text(stringResource(R.string.detail_reason_required)) }
                } else {
                    null
                },
                modifier = Modifier.fillMaxWidth(),
            )
        },
        confirmButton = {
            TextButton(
                onClick = { onConfirm(text) },
                enabled = !required || text.isNotBlank(),
                modifier = Modifier.heightIn(min = 48.dp),
            ) { Text(confirm) }
        },
        dismissButton = {
            TextButton(onClick = onDismiss, modifier = Modifier.heightIn(min = 48.dp)) {
                Text(stringResource(R.string.action_cancel))
            }
        },
    )
}
