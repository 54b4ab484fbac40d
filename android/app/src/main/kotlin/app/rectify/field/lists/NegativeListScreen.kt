package app.rectify.field.lists

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.PaddingValues
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Place
import androidx.compose.material3.Card
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.rectify.core.IssueId
import app.rectify.core.NegativeList
import app.rectify.core.VillageInfo
import app.rectify.field.R
import app.rectify.field.ui.BigOutlinedButton
import app.rectify.field.ui.CategoryCatalogue
import app.rectify.field.ui.CountCell
import app.rectify.field.ui.EmptyState
import app.rectify.field.ui.IssueRow
import app.rectify.field.ui.LoadingBox
import app.rectify.field.ui.VillageChooserDialog
import app.rectify.field.ui.formatPercent
import app.rectify.field.ui.rectifyViewModel
import app.rectify.field.ui.text

/** A village's negative list: the counts a bulletin shows, then every open issue, overdue ones in red. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun NegativeListScreen(onOpenIssue: (IssueId) -> Unit) {
    val viewModel = rectifyViewModel { runtime, saved -> NegativeListViewModel(runtime.ledger, saved) }
    val villages by viewModel.villages.collectAsStateWithLifecycle()
    val selected by viewModel.selectedCode.collectAsStateWithLifecycle()
    val list by viewModel.list.collectAsStateWithLifecycle()
    val catalogue by viewModel.catalogue.collectAsStateWithLifecycle()
    var choosing by rememberSaveable { mutableStateOf(false) }

    Scaffold(topBar = { TopAppBar(title = { Text(stringResource(R.string.lists_title)) }) }) { padding ->
        Column(Modifier.padding(padding).fillMaxSize()) {
            val options = villages.orEmpty()
            if (options.size > 1) {
                val name = options.firstOrNull { it.code == selected }?.name ?: selected.orEmpty()
                BigOutlinedButton(
                    text = stringResource(R.string.lists_village_button, name),
                    onClick = { choosing = true },
                    icon = Icons.Filled.Place,
                    modifier = Modifier
                        .fillMaxWidth()
                        .padding(horizontal = 16.dp, vertical = 8.dp),
                )
            }
            when (val current = list) {
                NegativeListState.Loading -> LoadingBox()
                NegativeListState.NoVillage -> EmptyState(stringResource(R.string.lists_no_village))
                is NegativeListState.Failed -> EmptyState(current.message.text())
                is NegativeListState.Loaded -> ListContent(current.list, catalogue, onOpenIssue)
            }
        }
    }

    if (choosing) {
        VillageChooserDialog(
            villages = villages.orEmpty(),
            selectedCode = selected,
            onChoose = { village: VillageInfo ->
                viewModel.select(village.code)
                choosing = false
            },
            onDismiss = { choosing = false },
        )
    }
}

@Composable
private fun ListContent(list: NegativeList, catalogue: CategoryCatalogue, onOpenIssue: (IssueId) -> Unit) {
    LazyColumn(
        contentPadding = PaddingValues(16.dp),
        verticalArrangement = Arrangement.spacedBy(8.dp),
        modifier = Modifier.fillMaxSize(),
    ) {
        item(key = "header") { ListHeader(list) }
        if (list.items.isEmpty()) {
            item(key = "empty") {
                Text(
                    stringResource(R.string.lists_empty),
                    style = MaterialTheme.typography.bodyLarge,
                    modifier = Modifier.padding(vertical = 24.dp),
                )
            }
        }
        items(list.items, key = { it.id }) { issue ->
            IssueRow(issue = issue, catalogue = catalogue, onClick = { onOpenIssue(issue.id) })
        }
    }
}

@Composable
private fun ListHeader(list: NegativeList) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
            Column {
                Text(list.villageName, style = MaterialTheme.typography.titleLarge)
                val place = listOfNotNull(list.town, list.zone).joinToString(" · ")
                if (place.isNotEmpty()) {
                    Text(place, style = MaterialTheme.typography.bodyMedium, color = MaterialTheme.colorScheme.onSurfaceVariant)
                }
            }
            Row(Modifier.fillMaxWidth()) {
                CountCell(stringResource(R.string.count_found), list.found.toString(), Modifier.weight(1f))
                CountCell(stringResource(R.string.count_rectified), list.rectified.toString(), Modifier.weight(1f))
                CountCell(stringResource(R.string.count_awaiting), list.awaitingAcceptance.toString(), Modifier.weight(1f))
            }
            Row(Modifier.fillMaxWidth()) {
                CountCell(stringResource(R.string.count_remaining), list.remaining.toString(), Modifier.weight(1f))
                CountCell(
                    stringResource(R.string.count_overdue),
                    list.overdue.toString(),
                    Modifier.weight(1f),
                    valueColor = if (list.overdue > 0u) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurface,
                )
                CountCell(
                    stringResource(R.string.count_rate),
                    list.rectificationRate?.let { formatPercent(it) } ?: stringResource(R.string.count_rate_none),
                    Modifier.weight(1f),
                )
            }
        }
    }
}
