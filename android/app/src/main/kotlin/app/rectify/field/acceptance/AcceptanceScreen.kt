package app.rectify.field.acceptance

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.PaddingValues
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.rectify.core.IssueId
import app.rectify.field.R
import app.rectify.field.ui.EmptyState
import app.rectify.field.ui.IssueRow
import app.rectify.field.ui.LoadingBox
import app.rectify.field.ui.rectifyViewModel
import app.rectify.field.ui.text

/** The acceptor's queue: each strike-off opens its issue, with the before and after photos and the decision. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun AcceptanceScreen(onOpenIssue: (IssueId) -> Unit) {
    val viewModel = rectifyViewModel { runtime, _ -> AcceptanceViewModel(runtime.ledger) }
    val state by viewModel.state.collectAsStateWithLifecycle()
    val catalogue by viewModel.catalogue.collectAsStateWithLifecycle()

    Scaffold(topBar = { TopAppBar(title = { Text(stringResource(R.string.acceptance_title)) }) }) { padding ->
        val modifier = Modifier.padding(padding).fillMaxSize()
        when (val current = state) {
            AcceptanceState.Loading -> LoadingBox(modifier)
            is AcceptanceState.Failed -> EmptyState(current.message.text(), modifier)
            is AcceptanceState.Loaded -> if (current.issues.isEmpty()) {
                EmptyState(stringResource(R.string.acceptance_empty), modifier)
            } else {
                LazyColumn(
                    modifier = modifier,
                    contentPadding = PaddingValues(16.dp),
                    verticalArrangement = Arrangement.spacedBy(8.dp),
                ) {
                    item(key = "count") {
                        Text(
                            stringResource(R.string.acceptance_count, current.issues.size),
                            style = MaterialTheme.typography.titleMedium,
                        )
                    }
                    items(current.issues, key = { it.id }) { issue ->
                        IssueRow(issue = issue, catalogue = catalogue, showVillage = true, onClick = { onOpenIssue(issue.id) })
                    }
                }
            }
        }
    }
}
