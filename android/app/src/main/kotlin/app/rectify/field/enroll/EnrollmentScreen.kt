package app.rectify.field.enroll

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.aspectRatio
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.imePadding
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardActions
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.Close
import androidx.compose.material.icons.filled.QrCodeScanner
import androidx.compose.material.icons.filled.VerifiedUser
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.ImeAction
import androidx.compose.ui.text.input.KeyboardCapitalization
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import app.rectify.core.Profile
import app.rectify.field.R
import app.rectify.field.capture.CameraUnavailableNotice
import app.rectify.field.capture.rememberCameraPermission
import app.rectify.field.ui.BigButton
import app.rectify.field.ui.BigOutlinedButton
import app.rectify.field.ui.ErrorNotice
import app.rectify.field.ui.PermissionRequest
import app.rectify.field.ui.ScrollingColumn
import app.rectify.field.ui.rectifyViewModel
import app.rectify.field.ui.text
import app.rectify.kit.EnrollmentLink

/**
 * Enrollment: the office gives each person a one-time code, printed as a QR code or read out. [onBack] is
 * set when a phone that is already enrolled enrolls again (after the office refused it).
 *
 * [link] is an enrollment link the phone was opened with: it fills the form in (and is submitted at once
 * when [submitLink]); [onLinkUsed] is called once the form has taken it.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun EnrollmentScreen(
    onEnrolled: (Profile) -> Unit,
    onBack: (() -> Unit)?,
    link: EnrollmentLink? = null,
    submitLink: Boolean = false,
    onLinkUsed: () -> Unit = {},
) {
    val viewModel = rectifyViewModel { runtime, _ -> EnrollmentViewModel(runtime.ledger, runtime.backgroundSync) }
    val state by viewModel.state.collectAsStateWithLifecycle()

    LaunchedEffect(viewModel) { viewModel.enrolled.collect { onEnrolled(it) } }
    LaunchedEffect(viewModel, link) {
        if (link != null) {
            viewModel.onLink(link, submit = submitLink)
            onLinkUsed()
        }
    }

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(stringResource(R.string.enroll_title)) },
                navigationIcon = {
                    if (onBack != null) {
                        IconButton(onClick = onBack) {
                            Icon(Icons.AutoMirrored.Filled.ArrowBack, stringResource(R.string.action_back))
                        }
                    }
                },
            )
        },
    ) { padding ->
        ScrollingColumn(Modifier.padding(padding).fillMaxSize().imePadding()) {
            Text(stringResource(R.string.enroll_intro), style = MaterialTheme.typography.bodyLarge)

            if (state.scanning) {
                ScanPanel(onScanned = viewModel::onScanned, onClose = viewModel::stopScanning)
            } else {
                BigButton(
                    text = stringResource(R.string.enroll_scan),
                    onClick = viewModel::startScanning,
                    icon = Icons.Filled.QrCodeScanner,
                    enabled = !state.busy,
                    modifier = Modifier.fillMaxWidth(),
                )
            }

            state.error?.let { ErrorNotice(it) }

            Text(stringResource(R.string.enroll_or_type), style = MaterialTheme.typography.titleMedium)
            OutlinedTextField(
                value = state.serverUrl,
                onValueChange = viewModel::onServerUrlChange,
                label = { Text(stringResource(R.string.enroll_server_label)) },
                placeholder = { Text(stringResource(R.string.enroll_server_hint)) },
                singleLine = true,
                enabled = !state.busy,
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Uri, imeAction = ImeAction.Next),
                modifier = Modifier.fillMaxWidth(),
            )
            OutlinedTextField(
                value = state.code,
                onValueChange = viewModel::onCodeChange,
                label = { Text(stringResource(R.string.enroll_code_label)) },
                singleLine = true,
                enabled = !state.busy,
                keyboardOptions = KeyboardOptions(
                    capitalization = KeyboardCapitalization.Characters,
                    keyboardType = KeyboardType.Ascii,
                    imeAction = ImeAction.Done,
                ),
                keyboardActions = KeyboardActions(onDone = { viewModel.submit() }),
                modifier = Modifier.fillMaxWidth(),
            )
            if (state.busy) {
                Box(Modifier.fillMaxWidth(), contentAlignment = Alignment.Center) {
                    Column(horizontalAlignment = Alignment.CenterHorizontally) {
                        CircularProgressIndicator()
                        Text(stringResource(R.string.enroll_busy), style = MaterialTheme.typography.bodyMedium)
                    }
                }
            } else {
                BigButton(
                    text = stringResource(R.string.enroll_submit),
                    onClick = viewModel::submit,
                    enabled = state.canSubmit,
                    icon = Icons.Filled.VerifiedUser,
                    modifier = Modifier.fillMaxWidth(),
                )
            }
        }
    }
}

/** The camera, looking for the office's QR code. Without the camera permission, typing the code still works. */
@Composable
private fun ScanPanel(onScanned: (String) -> Unit, onClose: () -> Unit) {
    val permission = rememberCameraPermission()
    var unavailable by remember { mutableStateOf(false) }
    Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
        when {
            !permission.allGranted -> PermissionRequest(
                gate = permission,
                rationale = stringResource(R.string.enroll_camera_rationale),
                allowLabel = stringResource(R.string.action_allow_camera),
                icon = Icons.Filled.QrCodeScanner,
            )
            unavailable -> CameraUnavailableNotice()
            else -> {
                QrScanner(
                    onText = onScanned,
                    onUnavailable = { unavailable = true },
                    modifier = Modifier
                        .fillMaxWidth()
                        .aspectRatio(1f),
                )
                Text(stringResource(R.string.enroll_scan_hint), style = MaterialTheme.typography.bodyMedium)
            }
        }
        BigOutlinedButton(
            text = stringResource(R.string.enroll_stop_scanning),
            onClick = onClose,
            icon = Icons.Filled.Close,
            modifier = Modifier.fillMaxWidth(),
        )
    }
}
