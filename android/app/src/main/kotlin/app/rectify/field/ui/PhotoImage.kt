package app.rectify.field.ui

import androidx.compose.foundation.layout.aspectRatio
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.layout.ContentScale
import coil.compose.AsyncImage
import java.io.File

/** A photo file on this phone, the full width and in the camera's 3:4 portrait frame, cropped to fill it. */
@Composable
fun PhotoImage(path: String, contentDescription: String?, modifier: Modifier = Modifier) {
    AsyncImage(
        model = File(path),
        contentDescription = contentDescription,
        contentScale = ContentScale.Crop,
        modifier = modifier
            .fillMaxWidth()
            .aspectRatio(3f / 4f),
    )
}
