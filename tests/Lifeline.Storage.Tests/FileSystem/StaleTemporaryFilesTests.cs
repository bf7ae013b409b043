using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.FileSystem;

/// <summary>
/// The clean-up of the <c>.tmp-*</c> files a killed writer leaves: only those older than the grace period and held
/// by no live writer go; objects and recent temporary files stay.
/// </summary>
public sealed class StaleTemporaryFilesTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public async Task RemoveStaleTemporaryFiles_OldFreshAndHeldByAWriter_RemovesOnlyTheOldUnheldOne()
    {
        var store = new FileSystemObjectStore(_temp.Path);
        await store.PutAsync("data/ab/pack", new byte[] { 1, 2, 3 });
        var dir = Path.Combine(_temp.Path, "data", "ab");
        var now = DateTimeOffset.UtcNow;
        var dead = TempFile(dir, ".tmp-dead", now.AddHours(-2));
        var held = TempFile(dir, ".tmp-held", now.AddHours(-2));
        var fresh = TempFile(Path.Combine(_temp.Path, "index"), ".tmp-fresh", now.AddMinutes(-5));

        int removed;
        using (new FileStream(held, FileMode.Open, FileAccess.Write, FileShare.None)) // as a live writer holds its file
        {
            removed = store.RemoveStaleTemporaryFiles(FileSystemObjectStore.StaleTemporaryAge, now);
        }

        Assert.Equal(1, removed);
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(held), "a temporary file a live writer holds was deleted");
        Assert.True(File.Exists(fresh), "a temporary file younger than the grace period was deleted");
        Assert.Equal(new byte[] { 1, 2, 3 }, await store.GetAsync("data/ab/pack"));

        // once its writer is gone, the old one goes too
        Assert.Equal(1, store.RemoveStaleTemporaryFiles(FileSystemObjectStore.StaleTemporaryAge, now));
        Assert.False(File.Exists(held));
    }

    private static string TempFile(string dir, string name, DateTimeOffset written)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, "partial");
        File.SetLastWriteTimeUtc(path, written.UtcDateTime);
        return path;
    }

    public void Dispose() => _temp.Dispose();
}
