package app.rectify.kit

import java.net.URI
import java.net.URISyntaxException
import java.net.URLDecoder
import java.nio.charset.StandardCharsets

/**
 * What an enrollment QR code (or a tapped link) carries: `rectify://enroll?server=<office URL>&code=<code>`,
 * as `rectify-office enroll --server URL` prints it.
 */
data class EnrollmentLink(val server: String, val code: String) {
    companion object {
        /** The link in [text], or `null` when it is not one (a QR code from something else). */
        fun parse(text: String): EnrollmentLink? {
            val uri = try {
                URI(text.trim())
            } catch (_: URISyntaxException) {
                return null
            }
            if (!uri.scheme.equals("rectify", ignoreCase = true) || uri.host != "enroll") return null
            val query = uri.rawQuery ?: return null
            val values = query.split('&').mapNotNull { part ->
                val equals = part.indexOf('=')
                if (equals <= 0) return@mapNotNull null
                val name = part.substring(0, equals)
                val value = try {
                    URLDecoder.decode(part.substring(equals + 1), StandardCharsets.UTF_8.name())
                } catch (_: IllegalArgumentException) {
                    return null
                }
                name to value
            }.toMap()
            val server = values["server"]?.trim().orEmpty()
            val code = values["code"]?.trim().orEmpty()
            val serverOk = server.startsWith("http://") || server.startsWith("https://")
            return if (serverOk && code.isNotEmpty()) EnrollmentLink(server, code) else null
        }
    }
}
