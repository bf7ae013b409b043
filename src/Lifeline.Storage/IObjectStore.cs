namespace Lifeline.Storage;

/// <summary>
/// A flat namespace of immutable-by-convention objects addressed by key, with object-store semantics:
/// there is no rename and no append. Every backend (file system, Azure Blob, S3) passes the same conformance suite.
/// </summary>
/// <remarks>
/// Guarantees every implementation gives:
/// <list type="bullet">
/// <item>Keys are relative, '/'-separated, non-empty, with no empty, "." or ".." segments, no leading '/', no '\'
/// and no NUL; anything else is rejected with <see cref="ArgumentException"/> before any I/O
/// (<see cref="ObjectKeys.Validate"/>). A backend may reserve more names (the file system reserves ".tmp-*").</item>
/// <item>No key is a folder of another key: "a/b" and "a/b/c" never both exist. Cloud stores would allow it, the file
/// system cannot (it throws <see cref="InvalidOperationException"/>), so portable callers never rely on it.</item>
/// <item><see cref="PutAsync"/> is atomic: a concurrent or later reader sees either the whole previous object,
/// the whole new object, or (for a new key) nothing; never a partial object. When it returns, the object is durable.</item>
/// <item><see cref="PutIfAbsentAsync"/> is exact under concurrency: of any number of concurrent callers for one key,
/// exactly one returns <c>true</c> and the object then holds that caller's bytes. (The one documented exception is an
/// S3 store opened with <c>conditional-writes=false</c> for a server that ignores conditional writes; see
/// docs/storage.md and <c>lifeline storage probe</c>.)</item>
/// <item><see cref="GetAsync"/> of a missing key throws <see cref="ObjectNotFoundException"/> (with or without a range);
/// a range beyond the end is clipped to the object's length, so an offset at or past the end returns no bytes; a
/// negative offset or length throws <see cref="ArgumentOutOfRangeException"/>.</item>
/// <item><see cref="TryGetAsync"/> of a missing key returns <c>null</c>; of a present one, what <see cref="GetAsync"/>
/// returns.</item>
/// <item><see cref="StatAsync"/> of a missing key returns <c>null</c>; sizes are exact, times are the backend's.</item>
/// <item><see cref="ListAsync"/> yields every object that existed for the whole listing, in ordinal key order,
/// at most once each; objects created or deleted during the listing may or may not appear. The prefix is a plain
/// string prefix ("snap/ab" matches "snap/abc"); the empty prefix lists everything. Temporary or internal objects of
/// a backend are never listed. (Precisely, every backend orders by code point, i.e. UTF-8 bytes, see
/// <see cref="KeyOrder"/>; that equals ordinal order for every key without characters from U+E000 to U+FFFF mixed
/// with characters above U+FFFF.)</item>
/// <item><see cref="DeleteAsync"/> of a missing key is not an error.</item>
/// <item>Transient faults surface as <see cref="IOException"/> (or the SDK's transient exception), which the retry
/// decorator retries; permanent faults (missing, forbidden, invalid) are never retried.</item>
/// <item>A cancelled token throws <see cref="OperationCanceledException"/>; a put cancelled before it returns may or
/// may not have happened, but never happened partly.</item>
/// <item>Streaming puts (<see cref="PutStreamAsync"/>, <see cref="PutStreamIfAbsentAsync"/>) give the same atomicity,
/// durability and put-if-absent exactness as the buffered ones, for any size, in memory bounded by the backend's part
/// or block size (never by the object's size). Nothing becomes visible before the stream has been read to its end and
/// the whole object stored: if the stream throws, the token is cancelled or the store fails part-way, the key keeps its
/// previous object (or stays absent) and the upload's pieces are removed (S3 multipart upload aborted, file-system
/// temporary file deleted; Azure's uncommitted blocks are never visible and the service drops them). Only a crash can
/// leave such pieces behind, and they are never listed or read.</item>
/// <item><see cref="OpenReadAsync"/> streams one version of the object: the bytes of the object as it was when opened,
/// even if it is replaced or deleted while the stream is read, or an <see cref="IOException"/> when the backend can no
/// longer serve that version; never a mix of versions and never silently fewer bytes (a stream that ends early throws
/// <see cref="IOException"/>). Missing keys and ranges behave as for <see cref="GetAsync"/>. There is no size limit:
/// objects past the 2 GiB of one array are read this way.</item>
/// <item>Cloud stores: an endpoint that cannot be reached surfaces as <see cref="ObjectStoreUnavailableException"/>
/// (not retried: the endpoint is wrong or down), a call that stops making progress as
/// <see cref="ObjectStoreTimeoutException"/> (transient; while reading an opened stream, as an
/// <see cref="IOException"/> whose inner exception it is), and missing or rejected credentials as
/// <see cref="ObjectStoreAuthException"/> (permanent).</item>
/// </list>
/// </remarks>
public interface IObjectStore
{
    /// <summary>A short human description of where the objects live, e.g. <c>file:///srv/repo</c>; never contains secrets.</summary>
    string Location { get; }

    /// <summary>Writes the whole object, replacing any existing one atomically.</summary>
    Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Writes the object only if no object has the key; returns <c>false</c> (and writes nothing) if one does.</summary>
    Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Reads the whole object, or <paramref name="length"/> bytes from <paramref name="offset"/> when a length is given.</summary>
    /// <exception cref="ObjectNotFoundException">No object has the key.</exception>
    /// <exception cref="InvalidOperationException">The range holds more bytes than one array can (about 2 GiB): use
    /// <see cref="OpenReadAsync"/>.</exception>
    Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default);

    /// <summary>Reads the whole object, or returns <c>null</c> when no object has the key: for an object that is often
    /// absent (a hint file), where <see cref="GetAsync"/> would throw on every read.</summary>
    /// <remarks>The default calls <see cref="GetAsync"/> and turns <see cref="ObjectNotFoundException"/> into <c>null</c>
    /// (a decorator that does not forward it still answers correctly, through its own <see cref="GetAsync"/>); the
    /// backends override it so that an absent object costs no exception of theirs where the platform allows (the file
    /// system looks before it opens; the cloud SDKs throw on a 404 themselves, which is taken as the answer).</remarks>
    async Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            return await GetAsync(key, cancellationToken: cancellationToken);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes the object from <paramref name="content"/> (read from its current position to its end), replacing any
    /// existing one atomically once the whole stream is stored.
    /// </summary>
    /// <remarks>
    /// Atomic and durable as <see cref="PutAsync"/>; memory is bounded by the backend's part or block size whatever the
    /// object's size. If reading <paramref name="content"/> throws, the token is cancelled or the backend fails, the
    /// exception propagates and the key keeps its previous object: nothing of this put is visible. The store does not
    /// dispose <paramref name="content"/>, and may have read any part of it when it throws.
    /// </remarks>
    Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the object from <paramref name="content"/> only if no object has the key; returns <c>false</c> (and leaves
    /// the existing object untouched) if one does.
    /// </summary>
    /// <remarks>
    /// Exact under concurrency as <see cref="PutIfAbsentAsync"/>, atomic, and bounded in memory as
    /// <see cref="PutStreamAsync"/>. When it returns <c>false</c> the stream may have been read in part or in full (a
    /// backend may learn that the key is taken only when it commits). A failed or cancelled call leaves the key as it
    /// was: absent, or the other writer's object.
    /// </remarks>
    Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the whole object, or <paramref name="length"/> bytes from <paramref name="offset"/>, as a forward-only
    /// stream whose <see cref="ObjectReadStream.Length"/> is the number of bytes it yields. The caller disposes it.
    /// </summary>
    /// <remarks>
    /// The stream yields one version of the object (see the remarks on <see cref="IObjectStore"/>); memory is bounded
    /// by a read buffer, and objects of any size (beyond the 2 GiB of <see cref="GetAsync"/>) can be read. A read that
    /// fails part-way throws <see cref="IOException"/>; reopen at the offset reached to resume. Several streams of one
    /// object may be open and read concurrently.
    /// </remarks>
    /// <exception cref="ObjectNotFoundException">No object has the key (thrown by this call, not by the first read).</exception>
    Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default);

    /// <summary>Returns the object's size and last-modified time, or <c>null</c> when no object has the key.</summary>
    Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Lists the objects whose keys start with <paramref name="prefix"/> (plain string prefix), in ordinal key order.</summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Deletes the object; deleting a missing key succeeds.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);
}

/// <summary>What a store knows of one object.</summary>
public sealed record ObjectInfo(string Key, long Size, DateTimeOffset LastModified);

/// <summary>Thrown when an object that must exist does not.</summary>
public sealed class ObjectNotFoundException : Exception
{
    /// <summary>Creates the exception for <paramref name="key"/> in <paramref name="location"/>.</summary>
    public ObjectNotFoundException(string key, string location, Exception? inner = null)
        : base($"object '{key}' not found in {location}", inner)
    {
        Key = key;
    }

    /// <summary>The missing key.</summary>
    public string Key { get; }
}
