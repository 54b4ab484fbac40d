package app.rectify.field.ui

import android.annotation.SuppressLint
import android.content.Context
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Bundle
import android.os.Looper
import android.os.SystemClock
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.Stable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableLongStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.platform.LocalContext
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleEventObserver
import androidx.lifecycle.compose.LocalLifecycleOwner
import app.rectify.core.Fix
import java.time.Duration
import kotlinx.coroutines.delay

/** A fix younger than this is "live"; an older one has gone stale (the receiver lost the sky). */
val LIVE_FIX_MAX_AGE: Duration = Duration.ofMinutes(2)

/** A last-known position older than this is not offered at all: the inspector may have walked on. */
val LAST_KNOWN_MAX_AGE: Duration = Duration.ofMinutes(10)

/**
 * The phone's position from the platform [LocationManager], GPS and network providers both. Google's fused
 * provider is not used: it needs Play services, which phones sold in mainland China do not have.
 */
@Stable
class LocationFixState internal constructor() {
    /** The best position heard since the screen started listening. */
    var latest: Location? by mutableStateOf(null)
        internal set

    /** What the providers remembered from before (possibly another app's fix). */
    var remembered: Location? by mutableStateOf(null)
        internal set

    var gpsEnabled: Boolean by mutableStateOf(false)
        internal set

    var networkEnabled: Boolean by mutableStateOf(false)
        internal set

    /** Ticks every second, so ages on screen grow and a fix turns stale without a new one arriving. */
    var nowElapsedNanos: Long by mutableLongStateOf(SystemClock.elapsedRealtimeNanos())
        internal set

    val providerEnabled: Boolean get() = gpsEnabled || networkEnabled

    fun ageOf(location: Location): Duration =
        Duration.ofNanos((nowElapsedNanos - location.elapsedRealtimeNanos).coerceAtLeast(0))

    /** A position heard recently enough to record an issue at without asking. */
    val live: Location? get() = latest?.takeIf { ageOf(it) <= LIVE_FIX_MAX_AGE }

    /** The freshest older position still worth offering, labelled with its age, when there is no live one. */
    val recentLastKnown: Location?
        get() = listOfNotNull(latest, remembered)
            .filter { ageOf(it) <= LAST_KNOWN_MAX_AGE }
            .maxByOrNull { it.elapsedRealtimeNanos }

    internal fun offer(candidate: Location) {
        val current = latest
        if (current == null || isBetter(candidate, current)) latest = candidate
    }

    // A newer fix wins unless it is much vaguer than a recent one (a network fix arriving just after GPS).
    private fun isBetter(candidate: Location, current: Location): Boolean {
        val newerBy = Duration.ofNanos(candidate.elapsedRealtimeNanos - current.elapsedRealtimeNanos)
        if (newerBy > Duration.ofSeconds(30)) return true
        if (newerBy.isNegative) return false
        if (!candidate.hasAccuracy()) return !current.hasAccuracy()
        if (!current.hasAccuracy()) return true
        return candidate.accuracy <= current.accuracy * 1.5f || candidate.provider == current.provider
    }
}

/** The accuracy in metres, when the provider gave one. */
val Location.accuracyMetres: Double? get() = if (hasAccuracy()) accuracy.toDouble() else null

fun Location.toFix(): Fix = Fix(lat = latitude, lon = longitude, accuracyM = accuracyMetres)

/**
 * Listens to the GPS and network providers while the screen is started and [permitted]; stops in the
 * background and when it leaves the composition. With only coarse permission ([precise] false) the GPS
 * provider is off limits and the network provider alone is used.
 */
@SuppressLint("MissingPermission") // Checked: nothing is requested unless `permitted`/`precise` say so.
@Composable
fun rememberLocationFix(permitted: Boolean, precise: Boolean): LocationFixState {
    val context = LocalContext.current
    val lifecycleOwner = LocalLifecycleOwner.current
    val state = remember { LocationFixState() }
    val manager = remember { context.getSystemService(Context.LOCATION_SERVICE) as LocationManager }

    LaunchedEffect(state) {
        while (true) {
            state.nowElapsedNanos = SystemClock.elapsedRealtimeNanos()
            delay(1_000)
        }
    }

    DisposableEffect(manager, lifecycleOwner, permitted, precise) {
        val providers = buildList {
            if (precise) add(LocationManager.GPS_PROVIDER)
            add(LocationManager.NETWORK_PROVIDER)
        }.filter { it in manager.allProviders }

        fun readSwitches() {
            state.gpsEnabled = precise && manager.isProviderEnabled(LocationManager.GPS_PROVIDER)
            state.networkEnabled = LocationManager.NETWORK_PROVIDER in providers &&
                manager.isProviderEnabled(LocationManager.NETWORK_PROVIDER)
        }

        // All four methods are spelled out: before API 30 the interface has no default bodies for them.
        val listener = object : LocationListener {
            override fun onLocationChanged(location: Location) = state.offer(location)

            override fun onProviderEnabled(provider: String) = readSwitches()

            override fun onProviderDisabled(provider: String) = readSwitches()

            @Deprecated("Deprecated in the platform; required below API 29")
            override fun onStatusChanged(provider: String?, status: Int, extras: Bundle?) = Unit
        }

        var listening = false
        fun start() {
            readSwitches()
            if (!permitted || listening) return
            try {
                for (provider in providers) {
                    manager.getLastKnownLocation(provider)?.let { known ->
                        val current = state.remembered
                        if (current == null || known.elapsedRealtimeNanos > current.elapsedRealtimeNanos) {
                            state.remembered = known
                        }
                    }
                    manager.requestLocationUpdates(provider, 1_000L, 0f, listener, Looper.getMainLooper())
                }
                listening = true
            } catch (_: SecurityException) {
                // The permission was revoked between the check and the request; the gate shows it on resume.
                manager.removeUpdates(listener)
            }
        }

        fun stop() {
            if (listening) manager.removeUpdates(listener)
            listening = false
        }

        val observer = LifecycleEventObserver { _, event ->
            when (event) {
                Lifecycle.Event.ON_START -> start()
                Lifecycle.Event.ON_STOP -> stop()
                else -> Unit
            }
        }
        lifecycleOwner.lifecycle.addObserver(observer)
        onDispose {
            lifecycleOwner.lifecycle.removeObserver(observer)
            stop()
        }
    }
    return state
}
