using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

/// <summary>Managed work on libtorch's OpenMP threads (ThreadTeam), which the managed decode step borrows.</summary>
[TestClass]
public sealed class ThreadTeamTests
{
    [TestMethod]
    public void OnLinuxLibTorchsOpenMpTeamIsFound()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("libtorch's libgomp is looked for on Linux only");
        using var warm = ones(2);   // libtorch loaded
        Assert.IsTrue(ThreadTeam.Available, "libgomp should be mapped into a process that loaded libtorch on Linux");
    }

    [TestMethod]
    public void EveryPartRunsOnceAndOnMoreThanOneThreadWhereTheTeamIsAvailable()
    {
        using var warm = ones(2);
        var runs = new int[5];
        var threads = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        for (int repeat = 0; repeat < 20; repeat++)
            ThreadTeam.Run(5, p =>
            {
                Interlocked.Increment(ref runs[p]);
                threads[Environment.CurrentManagedThreadId] = true;
                Thread.SpinWait(20_000);
            });
        CollectionAssert.AreEqual(new[] { 20, 20, 20, 20, 20 }, runs, "each part once a call");
        if (ThreadTeam.Available && Environment.ProcessorCount > 1) Assert.IsTrue(threads.Count > 1, "the parts ran on one thread only");
    }

    [TestMethod]
    public void AnExceptionInAPartReachesTheCaller()
    {
        using var warm = ones(2);
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => ThreadTeam.Run(4, p =>
        {
            if (p == 3) throw new InvalidOperationException("part 3 failed");
        }));
        Assert.AreEqual("part 3 failed", error.Message);
    }
}
