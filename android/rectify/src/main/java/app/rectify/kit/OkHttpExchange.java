package app.rectify.kit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * One HTTP exchange through OkHttp, in plain Java types. {@link OkHttpTransport} wraps it in the core's
 * records and errors.
 *
 * <p>This part is Java on purpose: OkHttp's Java API is the same in 3.x (which Debian ships, and which
 * the JVM tests here build against) and in 4.x and 5.x (which the app ships), while its Kotlin API
 * changed between them ({@code response.body()} became {@code response.body}).
 */
final class OkHttpExchange {
    /** Headers OkHttp computes itself; sending the caller's copies would conflict with its own. */
    private static final Set<String> OWN_HEADERS =
            Set.of("host", "content-length", "connection", "transfer-encoding", "content-type");

    /** An answer: its status, its headers as (lower-case name, value) pairs, and its body as it arrived. */
    static final class Answer {
        final int status;
        final List<String[]> headers;
        final byte[] body;

        Answer(int status, List<String[]> headers, byte[] body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }
    }

    private OkHttpExchange() {}

    /** Sends one request; throws the {@link IOException} OkHttp gave when no answer came. */
    static Answer send(OkHttpClient client, String method, String url, List<Map.Entry<String, String>> headers,
            byte[] body) throws IOException {
        Request.Builder builder = new Request.Builder().url(url);
        String contentType = null;
        for (Map.Entry<String, String> header : headers) {
            String name = header.getKey().toLowerCase(Locale.ROOT);
            if (name.equals("content-type")) contentType = header.getValue();
            if (!OWN_HEADERS.contains(name)) builder.addHeader(header.getKey(), header.getValue());
        }
        String verb = method.toUpperCase(Locale.ROOT);
        RequestBody requestBody = null;
        if (body.length > 0 || verb.equals("POST") || verb.equals("PUT") || verb.equals("PATCH")) {
            MediaType type = contentType == null ? null : MediaType.parse(contentType);
            requestBody = RequestBody.create(type, body);
        }
        builder.method(verb, requestBody);
        try (Response response = client.newCall(builder.build()).execute()) {
            List<String[]> answerHeaders = new ArrayList<>();
            for (String name : response.headers().names()) {
                for (String value : response.headers(name)) {
                    answerHeaders.add(new String[] {name.toLowerCase(Locale.ROOT), value});
                }
            }
            ResponseBody responseBody = response.body();
            byte[] content = responseBody == null ? new byte[0] : responseBody.bytes();
            return new Answer(response.code(), answerHeaders, content);
        }
    }
}
