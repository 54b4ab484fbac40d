import CoreLocation
import Foundation
import ImageIO
import RectifyKit
import UIKit
import UniformTypeIdentifiers

/// Why a photo could not be kept.
enum PhotoFileError: Error {
    /// The data is not an image ImageIO can read.
    case unreadable
    /// The JPEG could not be written.
    case notWritten

    var message: String {
        switch self {
        case .unreadable: return String(localized: "photo.error.unreadable")
        case .notWritten: return String(localized: "photo.error.notWritten")
        }
    }
}

/// The JPEG files the ledger ingests. The camera gives HEIC on most iPhones and the photo library gives
/// whatever was stored, while the core reads JPEG: everything passes through `writeJPEG`, which keeps the
/// image's metadata (capture time, orientation and GPS are evidence the office checks).
enum PhotoFiles {
    static let jpegQuality = 0.9

    /// Writes `data` (HEIC, JPEG, PNG, …) as a JPEG (quality 0.9) into `folder` and answers its file.
    /// `location` becomes the GPS block when the image carries none: pass the fix of a photo just taken,
    /// never for a picture from the library, whose place is unknown.
    static func writeJPEG(_ data: Data, into folder: URL, stamping location: CLLocation?) throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try DiskSpace.ensureRoom(at: folder)
        guard let source = CGImageSourceCreateWithData(data as CFData, nil), CGImageSourceGetCount(source) > 0 else {
            throw PhotoFileError.unreadable
        }
        let url = folder.appendingPathComponent(UUID().uuidString).appendingPathExtension("jpg")
        guard let destination = CGImageDestinationCreateWithURL(
            url as CFURL, UTType.jpeg.identifier as CFString, 1, nil
        ) else {
            throw PhotoFileError.notWritten
        }
        var properties = (CGImageSourceCopyPropertiesAtIndex(source, 0, nil) as? [CFString: Any]) ?? [:]
        if properties[kCGImagePropertyGPSDictionary] == nil, let location {
            properties[kCGImagePropertyGPSDictionary] = gpsProperties(location)
        }
        properties[kCGImageDestinationLossyCompressionQuality] = jpegQuality
        CGImageDestinationAddImageFromSource(destination, source, 0, properties as CFDictionary)
        guard CGImageDestinationFinalize(destination) else {
            try? FileManager.default.removeItem(at: url)
            // A full disk is the usual cause; if so, say that rather than "could not write".
            try DiskSpace.ensureRoom(at: folder)
            throw PhotoFileError.notWritten
        }
        return url
    }

    /// The EXIF GPS block for a fix, in the form cameras write it (unsigned degrees and a hemisphere, UTC).
    static func gpsProperties(_ location: CLLocation) -> [CFString: Any] {
        let coordinate = location.coordinate
        let date = DateFormatter()
        date.locale = Locale(identifier: "en_US_POSIX")
        date.timeZone = TimeZone(identifier: "UTC")
        date.dateFormat = "yyyy:MM:dd"
        let time = DateFormatter()
        time.locale = date.locale
        time.timeZone = date.timeZone
        time.dateFormat = "HH:mm:ss.SS"
        var gps: [CFString: Any] = [
            kCGImagePropertyGPSLatitude: abs(coordinate.latitude),
            kCGImagePropertyGPSLatitudeRef: coordinate.latitude >= 0 ? "N" : "S",
            kCGImagePropertyGPSLongitude: abs(coordinate.longitude),
            kCGImagePropertyGPSLongitudeRef: coordinate.longitude >= 0 ? "E" : "W",
            kCGImagePropertyGPSDateStamp: date.string(from: location.timestamp),
            kCGImagePropertyGPSTimeStamp: time.string(from: location.timestamp),
        ]
        if location.horizontalAccuracy >= 0 {
            gps[kCGImagePropertyGPSHPositioningError] = location.horizontalAccuracy
        }
        if location.verticalAccuracy > 0 {
            gps[kCGImagePropertyGPSAltitude] = abs(location.altitude)
            gps[kCGImagePropertyGPSAltitudeRef] = location.altitude < 0 ? 1 : 0
        }
        return gps
    }

    /// A small upright image for a strip of thumbnails, decoded without loading the whole photo.
    static func thumbnail(of url: URL, maxPixels: Int = 480) -> UIImage? {
        guard let source = CGImageSourceCreateWithURL(url as CFURL, nil) else { return nil }
        let options: [CFString: Any] = [
            kCGImageSourceCreateThumbnailFromImageAlways: true,
            kCGImageSourceCreateThumbnailWithTransform: true,
            kCGImageSourceThumbnailMaxPixelSize: maxPixels,
        ]
        guard let image = CGImageSourceCreateThumbnailAtIndex(source, 0, options as CFDictionary) else { return nil }
        return UIImage(cgImage: image)
    }

    /// Whether a photo file carries a GPS position (the office flags evidence without one).
    static func hasGPS(_ url: URL) -> Bool {
        guard let source = CGImageSourceCreateWithURL(url as CFURL, nil),
              let properties = CGImageSourceCopyPropertiesAtIndex(source, 0, nil) as? [CFString: Any],
              let gps = properties[kCGImagePropertyGPSDictionary] as? [CFString: Any] else { return false }
        return gps[kCGImagePropertyGPSLatitude] != nil && gps[kCGImagePropertyGPSLongitude] != nil
    }

    /// The JPEGs waiting in a captures folder, oldest first.
    static func captures(in folder: URL) -> [URL] {
        let files = (try? FileManager.default.contentsOfDirectory(
            at: folder, includingPropertiesForKeys: [.creationDateKey], options: [.skipsHiddenFiles]
        )) ?? []
        func created(_ url: URL) -> Date {
            (try? url.resourceValues(forKeys: [.creationDateKey]).creationDate) ?? .distantPast
        }
        return files.filter { $0.pathExtension.lowercased() == "jpg" }.sorted { created($0) < created($1) }
    }

    static func remove(_ urls: [URL]) {
        for url in urls { try? FileManager.default.removeItem(at: url) }
    }
}
