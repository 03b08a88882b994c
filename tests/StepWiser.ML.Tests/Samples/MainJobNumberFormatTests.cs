using StepWiser.ML.Samples.Commands;

namespace StepWiser.ML.Tests.Samples;

[TestClass]
public sealed class MainJobNumberFormatTests
{
    [TestMethod]
    public void DifferencesThatRoundToZeroReadZeroAndClaimsHaveNoNegativeZero()
    {
        // Equal F1 of RL and warm-up once printed "-+0.0" and wrote -0 to claims.json (the difference was -0.0).
        Assert.AreEqual("0.0", MainJob.Signed(-0.0));
        Assert.AreEqual("0.0", MainJob.Signed(60.69 - 60.69 - 1e-15));
        Assert.AreEqual("0.0", MainJob.Signed(0.04));
        Assert.AreEqual("+2.0", MainJob.Signed(2.02));
        Assert.AreEqual("-1.0", MainJob.Signed(-1.04));
        Assert.IsFalse(double.IsNegative(MainJob.Round(-1e-15, 2)));
        Assert.IsFalse(double.IsNegative(MainJob.Round(-0.0)));
        Assert.AreEqual(-1.04, MainJob.Round(-1.0449, 2));
        Assert.IsTrue(double.IsNaN(MainJob.Round(double.NaN)));
    }
}
