package app.rectify.field.ui

import android.util.Log
import androidx.camera.core.CameraSelector
import androidx.camera.core.Preview
import androidx.camera.core.UseCase
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberUpdatedState
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.content.ContextCompat
import androidx.lifecycle.compose.LocalLifecycleOwner

/**
 * The back camera's preview, bound with [useCases] (an `ImageCapture`, an `ImageAnalysis`) to the current
 * lifecycle: the camera opens while the screen is started and closes when it stops or leaves. [useCases]
 * must be remembered by the caller; a new list rebinds the camera.
 */
@Composable
fun CameraPreview(
    useCases: List<UseCase>,
    modifier: Modifier = Modifier,
    onUnavailable: (Throwable) -> Unit = {},
) {
    val context = LocalContext.current
    val lifecycleOwner = LocalLifecycleOwner.current
    val reportUnavailable by rememberUpdatedState(onUnavailable)
    val previewView = remember {
        PreviewView(context).apply {
            // A TextureView, so translucent Compose content (the before-photo) can lie over it.
            implementationMode = PreviewView.ImplementationMode.COMPATIBLE
            scaleType = PreviewView.ScaleType.FILL_CENTER
        }
    }
    val preview = remember { Preview.Builder().build() }

    DisposableEffect(lifecycleOwner, useCases) {
        var provider: ProcessCameraProvider? = null
        var disposed = false
        val future = ProcessCameraProvider.getInstance(context)
        future.addListener(
            {
                if (disposed) return@addListener
                try {
                    val cameras = future.get()
                    preview.setSurfaceProvider(previewView.surfaceProvider)
                    cameras.bindToLifecycle(
                        lifecycleOwner,
                        CameraSelector.DEFAULT_BACK_CAMERA,
                        preview,
                        *useCases.toTypedArray(),
                    )
                    provider = cameras
                } catch (failure: Exception) {
                    // No back camera, the camera service is gone, or another app holds the camera.
                    Log.w(TAG, "the camera could not be opened", failure)
                    reportUnavailable(failure)
                }
            },
            ContextCompat.getMainExecutor(context),
        )
        onDispose {
            disposed = true
            provider?.unbind(preview, *useCases.toTypedArray())
        }
    }

    AndroidView(factory = { previewView }, modifier = modifier)
}

private const val TAG = "CameraPreview"
