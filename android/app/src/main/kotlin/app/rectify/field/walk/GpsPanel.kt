package app.rectify.field.walk

import android.Manifest
import android.location.Location
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.layout.width
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.GpsFixed
import androidx.compose.material.icons.filled.History
import androidx.compose.material.icons.filled.LocationOff
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.Icon
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import app.rectify.field.R
import app.rectify.field.ui.BigButton
import app.rectify.field.ui.BigOutlinedButton
import app.rectify.field.ui.LocationFixState
import app.rectify.field.ui.NoticeCard
import app.rectify.field.ui.NoticeTone
import app.rectify.field.ui.PermissionGate
import app.rectify.field.ui.PermissionRequest
import app.rectify.field.ui.SectionCard
import app.rectify.field.ui.accuracyMetres
import app.rectify.field.ui.formatAgo
import app.rectify.field.ui.openLocationSettings
import kotlin.math.roundToInt

/**
 * Where the phone is, and what to do when it does not know: grant the permission, turn location on, wait
 * for a fix, or (clearly labelled with its age and accuracy) use a recent last-known position.
 */
@Composable
fun GpsPanel(
    permission: PermissionGate,
    location: LocationFixState,
    usingLastKnown: Location?,
    onUseLastKnown: (Location) -> Unit,
    onDropLastKnown: () -> Unit,
    modifier: Modifier = Modifier,
) {
    val context = LocalContext.current
    SectionCard(title = stringResource(R.string.walk_position), modifier = modifier) {
        when {
            !permission.anyGranted -> PermissionRequest(
                gate = permission,
                rationale = stringResource(R.string.walk_location_rationale),
                allowLabel = stringResource(R.string.action_allow_location),
                icon = Icons.Filled.LocationOff,
            )
            !location.providerEnabled -> NoticeCard(
                icon = Icons.Filled.LocationOff,
                text = stringResource(R.string.walk_location_off),
                tone = NoticeTone.Warning,
            ) {
                BigButton(
                    text = stringResource(R.string.action_open_location_settings),
                    onClick = { context.openLocationSettings() },
                    icon = Icons.Filled.Settings,
                    modifier = Modifier.fillMaxWidth(),
                )
            }
            else -> {
                val live = location.live
                when {
                    live != null -> FixLine(
                        icon = Icons.Filled.GpsFixed,
                        text = stringResource(R.string.walk_fix_live, accuracyText(live), formatAgo(location.ageOf(live))),
                    )
                    usingLastKnown != null -> {
                        Waiting()
                        FixLine(
                            icon = Icons.Filled.History,
                            text = stringResource(
                                R.string.walk_using_last_known,
                                formatAgo(location.ageOf(usingLastKnown)),
                                accuracyText(usingLastKnown),
                            ),
                        )
                        TextButton(onClick = onDropLastKnown) { Text(stringResource(R.string.walk_stop_using_last_known)) }
                    }
                    else -> {
                        Waiting()
                        location.recentLastKnown?.let { known ->
                            Text(
                                stringResource(
                                    R.string.walk_last_known_offer,
                                    formatAgo(location.ageOf(known)),
                                    accuracyText(known),
                                ),
                                style = MaterialTheme.typography.bodyMedium,
                            )
                            BigOutlinedButton(
                                text = stringResource(R.string.walk_use_last_known),
                                onClick = { onUseLastKnown(known) },
                                icon = Icons.Filled.History,
                                modifier = Modifier.fillMaxWidth(),
                            )
                        }
                    }
                }
                if (!permission.isGranted(Manifest.permission.ACCESS_FINE_LOCATION)) {
                    Text(
                        stringResource(R.string.walk_coarse_only),
                        style = MaterialTheme.typography.bodyMedium,
                        color = MaterialTheme.colorScheme.tertiary,
                    )
                }
            }
        }
    }
}

@Composable
private fun Waiting() {
    Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(12.dp)) {
        CircularProgressIndicator(modifier = Modifier.size(28.dp), strokeWidth = 3.dp)
        Text(stringResource(R.string.walk_waiting_for_fix), style = MaterialTheme.typography.titleMedium)
    }
    Text(
        stringResource(R.string.walk_waiting_hint),
        style = MaterialTheme.typography.bodyMedium,
        color = MaterialTheme.colorScheme.onSurfaceVariant,
    )
}

@Composable
private fun FixLine(icon: ImageVector, text: String) {
    Row(verticalAlignment = Alignment.CenterVertically) {
        Icon(icon, contentDescription = null, tint = MaterialTheme.colorScheme.primary)
        Spacer(Modifier.width(8.dp))
        Text(text, style = MaterialTheme.typography.titleMedium)
    }
}

@Composable
fun accuracyText(location: Location): String =
    location.accuracyMetres?.let { stringResource(R.string.accuracy_metres, it.roundToInt()) }
        ?: stringResource(R.string.accuracy_unknown)
