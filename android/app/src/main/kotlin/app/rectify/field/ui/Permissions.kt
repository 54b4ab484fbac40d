package app.rectify.field.ui

import android.app.Activity
import android.content.ActivityNotFoundException
import android.content.Context
import android.content.ContextWrapper
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.provider.Settings
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.MutableState
import androidx.compose.runtime.Stable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.core.content.ContextCompat
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.compose.LifecycleEventEffect
import app.rectify.field.R

/**
 * Where one or more runtime permissions stand, and how to ask for them.
 *
 * Android never says "denied for good" directly. After a refusal it stops showing its dialog at the same
 * moment it stops asking for a rationale, so a refusal with no rationale wanted means only the app's system
 * settings can grant it now: [permanentlyDenied]. Grants are read again on every resume, which covers the
 * person coming back from those settings.
 */
@Stable
class PermissionGate internal constructor(
    private val context: Context,
    val permissions: List<String>,
    private val deniedForGood: MutableState<Boolean>,
) {
    var grants: Map<String, Boolean> by mutableStateOf(readGrants())
        private set

    internal var launch: () -> Unit = {}

    val allGranted: Boolean get() = grants.values.all { it }

    /** For location, coarse alone is already something to work with. */
    val anyGranted: Boolean get() = grants.values.any { it }

    val permanentlyDenied: Boolean get() = deniedForGood.value && !anyGranted

    fun isGranted(permission: String): Boolean = grants[permission] == true

    /** Shows the system dialog (or, when the permission is denied for good, returns at once as denied). */
    fun request() = launch()

    internal fun refresh() {
        grants = readGrants()
        if (anyGranted) deniedForGood.value = false
    }

    internal fun onResult() {
        refresh()
        val activity = context.findActivity()
        deniedForGood.value = !anyGranted && activity != null &&
            permissions.none { activity.shouldShowRequestPermissionRationale(it) }
    }

    private fun readGrants(): Map<String, Boolean> = permissions.associateWith {
        ContextCompat.checkSelfPermission(context, it) == PackageManager.PERMISSION_GRANTED
    }
}

/** One permission (the camera), asked with [ActivityResultContracts.RequestPermission]. */
@Composable
fun rememberPermissionGate(permission: String): PermissionGate {
    val gate = rememberGate(listOf(permission))
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { gate.onResult() }
    gate.launch = { launcher.launch(permission) }
    return gate
}

/** Several permissions asked together (fine and coarse location: Android 12+ lets a person grant either). */
@Composable
fun rememberPermissionsGate(permissions: List<String>): PermissionGate {
    val gate = rememberGate(permissions)
    val launcher =
        rememberLauncherForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { gate.onResult() }
    gate.launch = { launcher.launch(permissions.toTypedArray()) }
    return gate
}

@Composable
private fun rememberGate(permissions: List<String>): PermissionGate {
    val context = LocalContext.current
    val deniedForGood = rememberSaveable(permissions.joinToString()) { mutableStateOf(false) }
    val gate = remember(permissions) { PermissionGate(context, permissions, deniedForGood) }
    LifecycleEventEffect(Lifecycle.Event.ON_RESUME) { gate.refresh() }
    return gate
}

/**
 * Explains why a permission is needed and offers the one step that can grant it: the system dialog, or the
 * app's settings once the dialog will no longer show.
 */
@Composable
fun PermissionRequest(
    gate: PermissionGate,
    rationale: String,
    allowLabel: String,
    icon: ImageVector,
    modifier: Modifier = Modifier,
) {
    val context = LocalContext.current
    NoticeCard(icon = icon, text = rationale, tone = NoticeTone.Warning, modifier = modifier) {
        Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
            if (gate.permanentlyDenied) {
                Text(stringResource(R.string.permission_denied_for_good))
                BigButton(
                    text = stringResource(R.string.action_open_app_settings),
                    onClick = { context.openAppSettings() },
                    icon = Icons.Filled.Settings,
                    modifier = Modifier.fillMaxWidth(),
                )
            } else {
                BigButton(text = allowLabel, onClick = gate::request, modifier = Modifier.fillMaxWidth())
            }
        }
    }
}

tailrec fun Context.findActivity(): Activity? = when (this) {
    is Activity -> this
    is ContextWrapper -> baseContext.findActivity()
    else -> null
}

/** This app's page in the system settings, where a permission denied for good can still be granted. */
fun Context.openAppSettings() {
    val details = Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", packageName, null))
    startSettings(details)
}

/** The system's location switch. */
fun Context.openLocationSettings() = startSettings(Intent(Settings.ACTION_LOCATION_SOURCE_SETTINGS))

// Some vendor builds drop individual settings pages; the settings app itself is always there.
private fun Context.startSettings(intent: Intent) {
    try {
        startActivity(intent.addFlags(Intent.FLAG_ACTIVITY_NEW_TASK))
    } catch (_: ActivityNotFoundException) {
        startActivity(Intent(Settings.ACTION_SETTINGS).addFlags(Intent.FLAG_ACTIVITY_NEW_TASK))
    }
}
