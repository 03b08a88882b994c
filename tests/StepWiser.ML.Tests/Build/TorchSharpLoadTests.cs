using System.Text;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Build;

[TestClass]
public sealed class TorchSharpLoadTests
{
    [TestMethod]
    public void TorchSharpLoadsAndComputesInTheTestHost()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }).view(2, 2);
        using var product = a.matmul(a);
        CollectionAssert.AreEqual(new float[] { 7, 10, 15, 22 }, product.data<float>().ToArray());
    }

    [TestMethod]
    public void OutputCopyOfLibTorchSharpIsPatchedOnlyWhereTheHostNeedsIt()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("The GLIBCXX step only runs on Linux.");
        string lib = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(lib)) Assert.Inconclusive($"{lib} not found (not an x64 build).");
        var hostLib = new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        if (hostLib is null) Assert.Inconclusive("no host libstdc++ found");
        bool hostHasIt = Encoding.ASCII.GetString(File.ReadAllBytes(hostLib)).Contains("GLIBCXX_3.4.32\0", StringComparison.Ordinal);
        bool weak = ReadVersionNeedFlags(File.ReadAllBytes(lib), "GLIBCXX_3.4.32") is { } flags && (flags & 0x2) != 0;
        Assert.AreEqual(!hostHasIt, weak, $"host {hostLib} has GLIBCXX_3.4.32: {hostHasIt}; output copy marks it weak: {weak}");
    }

    [TestMethod]
    public void RuntimeLoaderWeakensTheSameEntryAsTheBuildStepAndLeavesEverythingElse()
    {
        // The NuGet cache's copy is the unpatched original; it is only read here.
        var cacheRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var original = Path.Combine(cacheRoot, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(original)) Assert.Inconclusive($"{original} not found");
        var bytes = File.ReadAllBytes(original);
        var before = (byte[])bytes.Clone();
        Assert.AreEqual(0, ReadVersionNeedFlags(bytes, "GLIBCXX_3.4.32")!.Value & 0x2, "the original asks for GLIBCXX_3.4.32 strongly");

        Assert.IsTrue(StepWiser.ML.Native.TorchSharpNative.Weaken(bytes, "GLIBCXX_3.4.32"));
        Assert.AreEqual(0x2, ReadVersionNeedFlags(bytes, "GLIBCXX_3.4.32")!.Value & 0x2);
        Assert.AreEqual(1, bytes.Zip(before).Count(x => x.First != x.Second), "exactly one byte (the flags of that entry) changes");
        Assert.IsFalse(StepWiser.ML.Native.TorchSharpNative.Weaken(bytes, "GLIBCXX_3.4.32"), "idempotent");
        Assert.IsFalse(StepWiser.ML.Native.TorchSharpNative.Weaken((byte[])before.Clone(), "GLIBCXX_9.9.9"), "an absent version changes nothing");
        Assert.ThrowsExactly<BadImageFormatException>(() => StepWiser.ML.Native.TorchSharpNative.Weaken(Encoding.ASCII.GetBytes(new string('x', 100)), "GLIBCXX_3.4.32"));

        // In this test host (an app output folder, patched by the build where needed) the library loads as it is.
        StringAssert.Contains(StepWiser.ML.Native.TorchSharpNative.EnsureLoadable(), "loads as it is");
    }

    /// <summary>Independent reading of .gnu.version_r (SHT_GNU_verneed) to find the vna_flags of one version name.</summary>
    private static int? ReadVersionNeedFlags(byte[] elf, string name)
    {
        long shoff = BitConverter.ToInt64(elf, 0x28);
        int size = BitConverter.ToUInt16(elf, 0x3A), count = BitConverter.ToUInt16(elf, 0x3C);
        for (int s = 0; s < count; s++)
        {
            int sh = (int)shoff + s * size;
            if (BitConverter.ToUInt32(elf, sh + 4) != 0x6ffffffe) continue;
            long off = BitConverter.ToInt64(elf, sh + 0x18);
            int link = BitConverter.ToInt32(elf, sh + 0x28);
            long strtab = BitConverter.ToInt64(elf, (int)shoff + link * size + 0x18);
            for (long vn = off; ; )
            {
                int cnt = BitConverter.ToUInt16(elf, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    long n = strtab + BitConverter.ToUInt32(elf, (int)aux + 8);
                    int end = Array.IndexOf(elf, (byte)0, (int)n);
                    if (Encoding.ASCII.GetString(elf, (int)n, end - (int)n) == name) return BitConverter.ToUInt16(elf, (int)aux + 4);
                    aux += BitConverter.ToUInt32(elf, (int)aux + 12);
                }
                uint next = BitConverter.ToUInt32(elf, (int)vn + 12);
                if (next == 0) break;
                vn += next;
            }
        }
        return null;
    }
}
