using StepWiser.ML.Data;
using StepWiser.ML.Models;
using StepWiser.ML.Training;

namespace StepWiser.ML.Tests.FaultInjection;

/// <summary>
/// The library's atomic writers under failure: a writer that throws halfway leaves the old file or folder byte-identical
/// and no temporary behind; temporary names are unique and hidden, so they never meet a user's <c>X.tmp</c>; a folder
/// is replaced whole, with nothing of the old one left in it; a training checkpoint is written the same way.
/// </summary>
[TestClass]
public sealed class AtomicWriteTests
{
    [TestMethod]
    public void AWriterThatFailsHalfwayLeavesTheOldFileAndNoTemporary()
    {
        using var w = Workspace.Create("atomic-file");
        var target = w.Write("out.jsonl", "OLD\n");
        w.Write("out.jsonl.tmp", "A USER'S FILE\n");
        var before = w.Snapshot();
        Assert.ThrowsExactly<InvalidOperationException>(() => AtomicFile.WriteText(target, writer =>
        {
            writer.Write(new string('x', 100_000));
            writer.Flush();
            throw new InvalidOperationException("the computation failed");
        }));
        Assert.IsEmpty(w.AssertUnchanged(before, "failed write"), "no temporary file is left");

        AtomicFile.WriteText(target, writer => writer.Write("NEW\n"));
        Assert.AreEqual("NEW\n", File.ReadAllText(target));
        Assert.AreEqual("A USER'S FILE\n", File.ReadAllText(w.PathOf("out.jsonl.tmp")));
        Assert.HasCount(2, Directory.GetFiles(w.Root));
    }

    [TestMethod]
    public void TemporaryPathsAreUniqueHiddenSiblings()
    {
        using var w = Workspace.Create("atomic-names");
        var target = w.PathOf("judge");
        var names = Enumerable.Range(0, 100).Select(_ => AtomicFile.TemporaryPath(target)).ToArray();
        Assert.HasCount(100, names.Distinct());
        foreach (var name in names)
        {
            Assert.AreEqual(w.Root, Path.GetDirectoryName(name), "same folder, so the rename is atomic");
            StringAssert.StartsWith(Path.GetFileName(name), ".judge.");
            Assert.AreNotEqual(target + ".tmp", name);
        }
    }

    [TestMethod]
    public void AFolderIsReplacedWholeAndAFailedWriteLeavesTheOldOne()
    {
        using var w = Workspace.Create("atomic-folder");
        var folder = w.PathOf("judge");
        w.Write(Path.Combine("judge", "model-00001-of-00002.safetensors"), "OLD SHARD");
        w.Write(Path.Combine("judge", "config.json"), "OLD CONFIG");
        var before = w.Snapshot();
        Assert.ThrowsExactly<IOException>(() => AtomicFolder.Write(folder, dir =>
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), "HALF");
            throw new IOException("disk full");
        }));
        Assert.IsEmpty(w.AssertUnchanged(before, "failed folder write"), "no temporary folder is left");
        Assert.HasCount(1, Directory.GetFileSystemEntries(w.Root));

        AtomicFolder.Write(folder, dir => File.WriteAllText(Path.Combine(dir, "config.json"), "NEW CONFIG"));
        CollectionAssert.AreEqual(new[] { "config.json" }, Directory.GetFiles(folder).Select(Path.GetFileName).ToArray(), "the stale shard is gone");
        Assert.AreEqual("NEW CONFIG", File.ReadAllText(Path.Combine(folder, "config.json")));
        Assert.HasCount(1, Directory.GetFileSystemEntries(w.Root), "neither the old folder nor a temporary one is left");
    }

    [TestMethod]
    public void ATrainingCheckpointNeverTouchesAFolderNamedLikeAFixedTemporary()
    {
        using var w = Workspace.Create("atomic-checkpoint");
        var root = w.PathOf("ckpt");
        w.Write(Path.Combine("ckpt", "checkpoint-000001.tmp", "keep.txt"), "A USER'S FOLDER");
        var before = w.Snapshot();
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 1);
        using var optimizer = new AdamW(model.named_parameters());
        var saved = TrainingCheckpoint.Save(root, model, optimizer, new TrainingCheckpoint.State(1, "test"), keep: 2);
        CollectionAssert.AreEquivalent(new[] { Path.Combine("ckpt", "checkpoint-000001.tmp", "keep.txt") }, before.Keys.ToArray());
        w.AssertUnchanged(before, "checkpoint beside a user's folder");
        Assert.AreEqual(saved, TrainingCheckpoint.List(root).Single().Path);
        CollectionAssert.AreEquivalent(new[] { "checkpoint-000001", "checkpoint-000001.tmp" }, Directory.GetDirectories(root).Select(Path.GetFileName).ToArray(), "no temporary folder is left");
    }
}
