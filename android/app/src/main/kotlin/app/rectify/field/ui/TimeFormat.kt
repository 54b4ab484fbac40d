package app.rectify.field.ui

import android.text.format.Formatter
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.ui.platform.LocalConfiguration
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import app.rectify.field.R
import java.time.Duration
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.time.format.FormatStyle

/** "3 h 20 min", "2 d 4 h", "45 s": the two largest units, which is as precise as a person reads an age. */
@Composable
fun formatDuration(duration: Duration): String {
    val total = duration.seconds.coerceAtLeast(0)
    val days = total / 86_400
    val hours = (total % 86_400) / 3_600
    val minutes = (total % 3_600) / 60
    val seconds = total % 60
    return when {
        days > 0 -> stringResource(R.string.duration_days_hours, days, hours)
        hours > 0 -> stringResource(R.string.duration_hours_minutes, hours, minutes)
        minutes > 0 -> stringResource(R.string.duration_minutes, minutes)
        else -> stringResource(R.string.duration_seconds, seconds)
    }
}

/** "3 h 20 min ago", or "just now" under ten seconds. */
@Composable
fun formatAgo(duration: Duration): String =
    if (duration.seconds < 10) {
        stringResource(R.string.time_just_now)
    } else {
        stringResource(R.string.time_ago, formatDuration(duration))
    }

/** How long ago [instant] was, against [now]. */
@Composable
fun formatAgo(instant: Instant, now: Instant): String = formatAgo(Duration.between(instant, now))

/** A date and time in the phone's zone and language, e.g. "2024年5月6日 14:30" or "May 6, 2024, 2:30 PM". */
@Composable
fun formatDateTime(instant: Instant): String {
    val locale = LocalConfiguration.current.locales[0]
    val formatter = remember(locale) {
        DateTimeFormatter.ofLocalizedDateTime(FormatStyle.MEDIUM, FormatStyle.SHORT).withLocale(locale)
    }
    return formatter.format(instant.atZone(ZoneId.systemDefault()))
}

/** A date alone, for deadlines and report days. */
@Composable
fun formatDate(instant: Instant): String {
    val locale = LocalConfiguration.current.locales[0]
    val formatter = remember(locale) { DateTimeFormatter.ofLocalizedDate(FormatStyle.MEDIUM).withLocale(locale) }
    return formatter.format(instant.atZone(ZoneId.systemDefault()))
}

/** "12 MB", in the phone's own units and language. */
@Composable
fun formatBytes(bytes: Long): String = Formatter.formatShortFileSize(LocalContext.current, bytes)

