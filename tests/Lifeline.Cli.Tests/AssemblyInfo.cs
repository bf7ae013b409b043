// The tests drive Unix file modes, signals and setpriv: they run on Linux (CI) and macOS, not Windows.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
