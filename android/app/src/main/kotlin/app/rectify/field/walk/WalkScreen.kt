package app.rectify.field.walk

import android.Manifest
import android.location.Location
import androidx.camera.core.ImageCapture
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Category
import androidx.compose.material.icons.filled.Place
import androidx.compose.material.icons.filled.Save
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.ExperimentalMaterial3Api
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
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.rectify.core.IssueId
import app.rectify.core.VillageInfo
import app.rectify.field.R
import app.rectify.field.capture.CaptureStore
import app.rectify.field.capture.PhotoCapturePanel
import app.rectify.field.capture.rememberCameraPermission
import app.rectify.field.ui.BigButton
import app.rectify.field.ui.BigOutlinedButton
import app.rectify.field.ui.BilingualText
import app.rectify.field.ui.BusyIndicator
import app.rectify.field.ui.ErrorNotice
import app.rectify.field.ui.LAST_KNOWN_MAX_AGE
import app.rectify.field.ui.PermissionGate
import app.rectify.field.ui.PhotoImage
import app.rectify.field.ui.ScrollingColumn
import app.rectify.field.ui.SectionCard
import app.rectify.field.ui.VillageChooserDialog
import app.rectify.field.ui.hasInternet
import app.rectify.field.ui.rectifyViewModel
import app.rectify.field.ui.rememberLocationFix
import app.rectify.field.ui.rememberPermissionsGate
import app.rectify.field.ui.text
import app.rectify.field.ui.toFix
import kotlin.math.roundToInt

private val LocationPermissions = listOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)

/**
 * The inspector's walk: photograph the problem, let the GPS place it, choose its type, save. Each part can
 * fail on its own (no camera permission, no fix, a full disk) and says so in its own card; only Save waits
 * for all of them.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun WalkScreen(onOpenIssue: (IssueId) -> Unit) {
    val appContext = LocalContext.current.applicationContext
    val viewModel = rectifyViewModel { runtime, _ ->
        WalkViewModel(
            ledger = runtime.ledger,
            backgroundSync = runtime.backgroundSync,
            captures = CaptureStore(runtime.captureDir),
            isOnline = { appContext.hasInternet() },
        )
    }
    val state by viewModel.state.collectAsStateWithLifecycle()
    val snackbar = remember { SnackbarHostState() }

    val cameraPermission = rememberCameraPermission()
    val locationPermission = rememberPermissionsGate(LocationPermissions)
    val location = rememberLocationFix(
        permitted = locationPermission.anyGranted,
        precise = locationPermission.isGranted(Manifest.permission.ACCESS_FINE_LOCATION),
    )
    // A last-known position is used only when the inspector chose it, and only while it is recent enough.
    var acceptedLastKnown by remember { mutableStateOf<Location?>(null) }
    val live = location.live
    val fallback = acceptedLastKnown?.takeIf { live == null && location.ageOf(it) <= LAST_KNOWN_MAX_AGE }
    val position: Location? = live ?: fallback

    var pickingCategory by rememberSaveable { mutableStateOf(false) }
    var choosingVillage by rememberSaveable { mutableStateOf(false) }
    var villageNeedingReason by remember { mutableStateOf<VillageInfo?>(null) }

    LaunchedEffect(position) { position?.let { viewModel.locate(it.toFix()) } }
    LaunchedEffect(viewModel) { viewModel.photo.checkStorage() }
    LaunchedEffect(viewModel) {
        viewModel.events.collect { event ->
            when (event) {
                is WalkEvent.Recorded -> {
                    acceptedLastKnown = null
                    snackbar.showSnackbar(event.message.resolve(appContext))
                }
            }
        }
    }

    Scaffold(
        topBar = { TopAppBar(title = { Text(stringResource(R.string.walk_title)) }) },
        snackbarHost = { SnackbarHost(snackbar) },
        bottomBar = {
            SaveBar(
                missing = state.missingStep(hasFix = position != null)?.text(),
                saving = state.saving,
                onSave = { position?.let { viewModel.save(it.toFix()) } },
            )
        },
    ) { padding ->
        ScrollingColumn(Modifier.padding(padding).fillMaxSize()) {
            PhotoSection(
                state = state,
                cameraPermission = cameraPermission,
                position = position,
                viewModel = viewModel,
            )
            GpsPanel(
                permission = locationPermission,
                location = location,
                usingLastKnown = fallback,
                onUseLastKnown = { acceptedLastKnown = it },
                onDropLastKnown = { acceptedLastKnown = null },
            )
            SectionCard(title = stringResource(R.string.walk_category)) {
                val category = state.category
                if (category != null) {
                    BilingualText(primary = category.zh, secondary = category.en)
                    Text(
                        deadlineText(category),
                        style = MaterialTheme.typography.bodyMedium,
                        color = MaterialTheme.colorScheme.onSurfaceVariant,
                    )
                }
                BigOutlinedButton(
                    text = stringResource(if (category == null) R.string.walk_choose_category else R.string.walk_change_category),
                    onClick = { pickingCategory = true },
                    icon = Icons.Filled.Category,
                    modifier = Modifier.fillMaxWidth(),
                )
            }
            VillageSection(
                state = state,
                hasPosition = position != null,
                onChoose = { choosingVillage = true },
                onUseLocated = viewModel::useLocatedVillage,
            )
            OutlinedTextField(
                value = state.note,
                onValueChange = viewModel::onNoteChange,
                label = { Text(stringResource(R.string.walk_note)) },
                minLines = 2,
                modifier = Modifier.fillMaxWidth(),
            )
            state.error?.let { ErrorNotice(it) }
        }
    }

    if (pickingCategory) {
        CategoryPickerSheet(
            catalogue = state.catalogue,
            selectedCode = state.category?.code,
            onPick = {
                viewModel.selectCategory(it)
                pickingCategory = false
            },
            onDismiss = { pickingCategory = false },
        )
    }
    if (choosingVillage) {
        VillageChooserDialog(
            villages = state.villages,
            selectedCode = state.villageCode,
            onChoose = { village ->
                choosingVillage = false
                val located = state.located
                if (located == null || located.villageCode == village.code) {
                    viewModel.chooseVillage(village, reason = "")
                } else {
                    villageNeedingReason = village
                }
            },
            onDismiss = { choosingVillage = false },
        )
    }
    villageNeedingReason?.let { village ->
        VillageReasonDialog(
            village = village,
            locatedName = state.located?.villageName.orEmpty(),
            onConfirm = { reason ->
                viewModel.chooseVillage(village, reason)
                villageNeedingReason = null
            },
            onDismiss = { villageNeedingReason = null },
        )
    }
    state.duplicates?.let { check ->
        DuplicateDialog(
            check = check,
            catalogue = state.catalogue,
            onRecordAnyway = viewModel::recordAnyway,
            onOpen = { id ->
                viewModel.dismissDuplicates()
                onOpenIssue(id)
            },
            onCancel = viewModel::dismissDuplicates,
        )
    }
}

@Composable
private fun PhotoSection(
    state: WalkUiState,
    cameraPermission: PermissionGate,
    position: Location?,
    viewModel: WalkViewModel,
) {
    val imageCapture = remember {
        ImageCapture.Builder().setCaptureMode(ImageCapture.CAPTURE_MODE_MINIMIZE_LATENCY).build()
    }

    SectionCard(title = stringResource(R.string.walk_photo)) {
        PhotoCapturePanel(
            capture = state.capture,
            photo = viewModel.photo,
            imageCapture = imageCapture,
            cameraPermission = cameraPermission,
            position = position,
            rationale = stringResource(R.string.walk_camera_rationale),
            takeLabel = stringResource(R.string.walk_take_photo),
            noGpsText = stringResource(R.string.walk_photo_no_gps),
            taken = { photo -> PhotoImage(photo, contentDescription = stringResource(R.string.walk_photo_taken)) },
        )
    }
}

@Composable
private fun VillageSection(state: WalkUiState, hasPosition: Boolean, onChoose: () -> Unit, onUseLocated: () -> Unit) {
    SectionCard(title = stringResource(R.string.walk_village)) {
        val chosen = state.chosenVillage
        val located = state.located
        when {
            chosen != null -> {
                Text(chosen.name, style = MaterialTheme.typography.titleMedium)
                if (state.villageReason.isNotBlank()) {
                    Text(
                        stringResource(R.string.walk_village_reason_shown, state.villageReason),
                        style = MaterialTheme.typography.bodyMedium,
                    )
                }
                if (located != null) {
                    TextButton(onClick = onUseLocated, modifier = Modifier.heightIn(min = 48.dp)) {
                        Text(stringResource(R.string.walk_use_located_village, located.villageName))
                    }
                }
            }
            located != null -> {
                Text(located.villageName, style = MaterialTheme.typography.titleMedium)
                if (!located.inside) {
                    Text(
                        stringResource(R.string.walk_outside_boundary, located.distanceM.roundToInt(), located.villageName),
                        style = MaterialTheme.typography.bodyMedium,
                        color = MaterialTheme.colorScheme.tertiary,
                    )
                }
            }
            !hasPosition -> Text(stringResource(R.string.walk_village_after_fix), style = MaterialTheme.typography.bodyMedium)
            state.profileVillageCount == 1 -> Text(stringResource(R.string.walk_village_own), style = MaterialTheme.typography.bodyMedium)
            else -> Text(
                stringResource(R.string.walk_village_unknown),
                style = MaterialTheme.typography.bodyMedium,
                color = MaterialTheme.colorScheme.tertiary,
            )
        }
        BigOutlinedButton(
            text = stringResource(R.string.walk_choose_other_village),
            onClick = onChoose,
            enabled = state.villages.isNotEmpty(),
            icon = Icons.Filled.Place,
            modifier = Modifier.fillMaxWidth(),
        )
    }
}

/** Charging an issue to another village than the boundary says needs a reason, for the office to read. */
@Composable
private fun VillageReasonDialog(
    village: VillageInfo,
    locatedName: String,
    onConfirm: (String) -> Unit,
    onDismiss: () -> Unit,
) {
    var reason by rememberSaveable { mutableStateOf("") }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(R.string.walk_village_reason_title, village.name)) },
        text = {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                Text(stringResource(R.string.walk_village_reason_text, locatedName, village.name))
                OutlinedTextField(
                    value = reason,
                    onValueChange = { reason = it },
                    label = { Text(stringResource(R.string.walk_village_reason_label)) },
                    minLines = 2,
                    modifier = Modifier.fillMaxWidth(),
                )
            }
        },
        confirmButton = {
            TextButton(onClick = { onConfirm(reason) }, enabled = reason.isNotBlank()) {
                Text(stringResource(R.string.action_confirm))
            }
        },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.action_cancel)) } },
    )
}

/** Save, always in reach at the bottom, with the reason it is not yet possible. */
@Composable
private fun SaveBar(missing: String?, saving: Boolean, onSave: () -> Unit) {
    Surface(tonalElevation = 3.dp) {
        Column(Modifier.padding(horizontal = 16.dp, vertical = 8.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            if (missing != null && !saving) {
                Text(
                    missing,
                    style = MaterialTheme.typography.bodyMedium,
                    color = MaterialTheme.colorScheme.onSurfaceVariant,
                    modifier = Modifier.align(Alignment.CenterHorizontally),
                )
            }
            if (saving) {
                BusyIndicator()
            } else {
                BigButton(
                    text = stringResource(R.string.walk_save),
                    onClick = onSave,
                    enabled = missing == null,
                    icon = Icons.Filled.Save,
                    modifier = Modifier.fillMaxWidth(),
                )
            }
        }
    }
}
