namespace Lifeline.Lake;

/// <summary>A table's log breaks the Delta protocol or cannot be read: the message names the table, version and file.</summary>
public class DeltaProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DeltaProtocolException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>The location holds no Delta table (no <c>_delta_log</c> with commits or checkpoints).</summary>
public sealed class DeltaTableNotFoundException : DeltaProtocolException
{
    /// <summary>Creates the exception.</summary>
    public DeltaTableNotFoundException(string message) : base(message)
    {
    }
}

/// <summary>The table needs a reader or writer version or a table feature this implementation does not support.</summary>
public sealed class DeltaUnsupportedFeatureException : DeltaProtocolException
{
    /// <summary>Creates the exception.</summary>
    public DeltaUnsupportedFeatureException(string message, string feature) : base(message)
    {
        Feature = feature;
    }

    /// <summary>The unsupported feature (or "readerVersion N").</summary>
    public string Feature { get; }
}

/// <summary>The requested version or time is not in the table's history.</summary>
public sealed class DeltaVersionNotFoundException : DeltaProtocolException
{
    /// <summary>Creates the exception.</summary>
    public DeltaVersionNotFoundException(string message) : base(message)
    {
    }
}

/// <summary>A concurrent commit changed what this commit read or deleted: retrying cannot fix it without re-reading.</summary>
public sealed class DeltaConcurrentModificationException : DeltaProtocolException
{
    /// <summary>Creates the exception.</summary>
    public DeltaConcurrentModificationException(string message) : base(message)
    {
    }
}
