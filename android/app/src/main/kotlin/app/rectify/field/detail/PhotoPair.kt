package app.rectify.field.detail

import androidx.compose.foundation.background
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.aspectRatio
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.CloudDownload
import androidx.compose.material.icons.filled.HideImage
import androidx.compose.material3.Icon
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.style.TextAlign
import androidx.compose.ui.unit.dp
import androidx.compose.ui.window.Dialog
import androidx.compose.ui.window.DialogProperties
import app.rectify.core.IssuePhoto
import app.rectify.core.PhotoRole
import app.rectify.field.R
import app.rectify.field.ui.PhotoImage
import app.rectify.field.ui.evidenceFlagLabel
import coil.compose.AsyncImage
import java.io.File

/**
 * Before and after side by side, the way an acceptor compares them. A photo the phone does not hold (not
 * fetched yet, or pruned after the office confirmed it) shows as "photo pending". Tapping one opens it whole.
 */
@Composable
fun PhotoPair(photos: List<IssuePhoto>, modifier: Modifier = Modifier) {
    var viewing by remember { mutableStateOf<String?>(null) }
    Row(modifier.fillMaxWidth(), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        PhotoColumn(
            title = stringResource(R.string.detail_before),
            photos = photos.filter { it.role == PhotoRole.BEFORE },
            empty = stringResource(R.string.detail_no_before),
            onOpen = { viewing = it },
            modifier = Modifier.weight(1f),
        )
        PhotoColumn(
            title = stringResource(R.string.detail_after),
            // The latest after-photo first: after a rejection it is the one being judged.
            photos = photos.filter { it.role == PhotoRole.AFTER }.asReversed(),
            empty = stringResource(R.string.detail_no_after),
            onOpen = { viewing = it },
            modifier = Modifier.weight(1f),
        )
    }
    viewing?.let { path -> FullPhoto(path, onClose = { viewing = null }) }
}

@Composable
private fun PhotoColumn(
    title: String,
    photos: List<IssuePhoto>,
    empty: String,
    onOpen: (String) -> Unit,
    modifier: Modifier = Modifier,
) {
    Column(modifier, verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text(title, style = MaterialTheme.typography.titleSmall, color = MaterialTheme.colorScheme.primary)
        if (photos.isEmpty()) {
            Placeholder(Icons.Filled.HideImage, empty)
        }
        photos.forEach { photo ->
            val shown = photo.thumbnailPath ?: photo.path
            val whole = photo.path ?: photo.thumbnailPath
            if (shown == null || whole == null) {
                Placeholder(Icons.Filled.CloudDownload, stringResource(R.string.detail_photo_pending))
            } else {
                PhotoImage(shown, contentDescription = title, modifier = Modifier.clickable { onOpen(whole) })
            }
            photo.warnings.forEach { warning ->
                Text(
                    evidenceFlagLabel(warning.name),
                    style = MaterialTheme.typography.bodySmall,
                    color = MaterialTheme.colorScheme.error,
                )
            }
        }
    }
}

@Composable
private fun Placeholder(icon: ImageVector, text: String) {
    Box(
        Modifier
            .fillMaxWidth()
            .aspectRatio(3f / 4f)
            .background(MaterialTheme.colorScheme.surfaceVariant, MaterialTheme.shapes.medium)
            .padding(8.dp),
        contentAlignment = Alignment.Center,
    ) {
        Column(horizontalAlignment = Alignment.CenterHorizontally, verticalArrangement = Arrangement.spacedBy(8.dp)) {
            Icon(icon, contentDescription = null, tint = MaterialTheme.colorScheme.onSurfaceVariant)
            Text(
                text,
                style = MaterialTheme.typography.bodySmall,
                textAlign = TextAlign.Center,
                color = MaterialTheme.colorScheme.onSurfaceVariant,
            )
        }
    }
}

@Composable
private fun FullPhoto(path: String, onClose: () -> Unit) {
    Dialog(onDismissRequest = onClose, properties = DialogProperties(usePlatformDefaultWidth = false)) {
        Box(
            Modifier
                .fillMaxSize()
                .background(Color.Black)
                .clickable(onClick = onClose),
            contentAlignment = Alignment.Center,
        ) {
            AsyncImage(
                model = File(path),
                contentDescription = null,
                contentScale = ContentScale.Fit,
                modifier = Modifier.fillMaxSize(),
            )
        }
    }
}
