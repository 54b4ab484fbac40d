package app.rectify.field.enroll

import android.os.SystemClock
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberUpdatedState
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.core.content.ContextCompat
import app.rectify.field.ui.CameraPreview
import com.google.zxing.BarcodeFormat
import com.google.zxing.BinaryBitmap
import com.google.zxing.DecodeHintType
import com.google.zxing.PlanarYUVLuminanceSource
import com.google.zxing.ReaderException
import com.google.zxing.common.HybridBinarizer
import com.google.zxing.qrcode.QRCodeReader
import java.util.concurrent.Executor
import java.util.concurrent.Executors

/**
 * Reads QR codes from camera frames with zxing, on the frame's luminance (Y) plane. It runs on the phone
 * alone: ML Kit's scanner needs Google Play services, which phones in mainland China do not have.
 *
 * The same text is reported at most once every two seconds, so a code held in view does not flood the
 * screen while it handles the first reading.
 */
class QrAnalyzer(
    private val deliver: Executor,
    private val onText: (String) -> Unit,
) : ImageAnalysis.Analyzer {
    private val reader = QRCodeReader()
    private val hints = mapOf(
        DecodeHintType.POSSIBLE_FORMATS to listOf(BarcodeFormat.QR_CODE),
        DecodeHintType.TRY_HARDER to true,
    )
    private var lastText: String? = null
    private var lastAt = 0L

    override fun analyze(image: ImageProxy) {
        try {
            val text = decode(image) ?: return
            val now = SystemClock.elapsedRealtime()
            if (text == lastText && now - lastAt < REPEAT_AFTER_MS) return
            lastText = text
            lastAt = now
            deliver.execute { onText(text) }
        } finally {
            image.close()
        }
    }

    private fun decode(image: ImageProxy): String? {
        // In YUV_420_888 the Y plane has a pixel stride of 1, but rows may be padded to rowStride.
        val plane = image.planes[0]
        val rowStride = plane.rowStride
        val buffer = plane.buffer.duplicate().apply { rewind() }
        val luminance = ByteArray(rowStride * image.height)
        buffer.get(luminance, 0, minOf(buffer.remaining(), luminance.size))
        val source = PlanarYUVLuminanceSource(
            luminance, rowStride, image.height, 0, 0, image.width, image.height, false,
        )
        return try {
            reader.decode(BinaryBitmap(HybridBinarizer(source)), hints).text
        } catch (_: ReaderException) {
            // No code in this frame, or one too blurred to read: wait for the next frame.
            null
        } finally {
            reader.reset()
        }
    }

    private companion object {
        const val REPEAT_AFTER_MS = 2_000L
    }
}

/** A camera preview that reports every QR code's text it reads, on the main thread. */
@Composable
fun QrScanner(onText: (String) -> Unit, modifier: Modifier = Modifier, onUnavailable: (Throwable) -> Unit = {}) {
    val context = LocalContext.current
    val latestOnText by rememberUpdatedState(onText)
    val analysis = remember {
        ImageAnalysis.Builder()
            .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
            .build()
    }
    DisposableEffect(analysis) {
        val worker = Executors.newSingleThreadExecutor()
        analysis.setAnalyzer(worker, QrAnalyzer(ContextCompat.getMainExecutor(context)) { latestOnText(it) })
        onDispose {
            analysis.clearAnalyzer()
            worker.shutdown()
        }
    }
    val useCases = remember(analysis) { listOf(analysis) }
    CameraPreview(useCases = useCases, modifier = modifier, onUnavailable = onUnavailable)
}
