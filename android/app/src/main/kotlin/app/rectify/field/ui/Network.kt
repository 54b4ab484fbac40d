package app.rectify.field.ui

import android.content.Context
import android.net.ConnectivityManager
import android.net.NetworkCapabilities

/**
 * Whether a network that reaches the internet is up right now. Only used to choose the words after a save
 * ("will sync now" or "will sync when a network returns"); recording never waits for a network.
 */
fun Context.hasInternet(): Boolean {
    val connectivity = getSystemService(ConnectivityManager::class.java) ?: return false
    val capabilities = connectivity.getNetworkCapabilities(connectivity.activeNetwork) ?: return false
    return capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) &&
        capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_VALIDATED)
}
