using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tests.Infrastructure;
using StepWiser.ML.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

/// <summary>
/// The managed kernel for the matrix products of small decode steps (DecodeProducts): its products against a float64
/// reference and libtorch's, its rows' independence of one another, the cases it leaves to libtorch, and the engine
/// with it on and off.
/// </summary>
[TestClass]
public sealed class DecodeProductsTests
{
    /// <summary>Ends a test as inconclusive on a processor without AVX-512 (there every decode product and step is libtorch's).</summary>
    internal static void RequireKernel()
    {
        if (!DecodeProducts.IsSupported) Assert.Inconclusive("this processor has no AVX-512: every decode product and step is libtorch's");
    }

    private static Tensor Random(long[] shape, int seed) => randn(shape, generator: new Generator((ulong)seed));

    private static Tensor? Kernel(Tensor x, Tensor weight, Tensor? bias)
    {
        using var noGrad = no_grad();
        using var scope = DecodeProducts.Enter();
        return DecodeProducts.TryLinear(x, weight, bias);
    }

    [TestMethod]
    [DataRow(1, 101, 64, false)]     // the reference models' vocabulary: a last group of one column
    [DataRow(3, 144, 64, true)]      // rows fewer than a tile of four, with a bias
    [DataRow(4, 512, 256, false)]    // Medium's fused q/k/v
    [DataRow(5, 7, 144, true)]       // one full tile of rows and one left over; three columns in the last group
    [DataRow(16, 1408, 256, false)]  // Medium's fused gate/up at the kernel's row limit
    [DataRow(13, 256, 704, true)]    // Medium's down projection
    public void TheProductMatchesAFloat64ReferenceAsCloselyAsLibTorchs(int rows, int columns, int inputs, bool withBias)
    {
        RequireKernel();
        using var x = Random([rows, inputs], 1);
        using var weight = Random([columns, inputs], 2) * 0.05;
        using var bias = withBias ? Random([columns], 3) : null;
        using var y = Kernel(x, weight, bias);
        Assert.IsNotNull(y, "the kernel should take this product");
        CollectionAssert.AreEqual(new long[] { rows, columns }, y.shape);

        using var reference = nn.functional.linear(x.to(ScalarType.Float64), weight.to(ScalarType.Float64), bias?.to(ScalarType.Float64));
        using var libtorch = nn.functional.linear(x, weight, bias);
        double scale = reference.abs().max().item<double>();
        double ours = (y.to(ScalarType.Float64) - reference).abs().max().item<double>();
        double theirs = (libtorch.to(ScalarType.Float64) - reference).abs().max().item<double>();
        Assert.IsTrue(ours <= 1e-6 * scale, $"kernel error {ours:E2} against float64 (values up to {scale:F2})");
        Assert.IsTrue(ours <= 4 * theirs + 1e-7 * scale, $"kernel error {ours:E2}, libtorch's {theirs:E2}");
    }

    [TestMethod]
    public void ARowsResultDoesNotDependOnTheRowsComputedWithIt()
    {
        RequireKernel();
        using var x = Random([16, 256], 4);
        using var weight = Random([203, 256], 5);
        using var bias = Random([203], 6);
        using var all = Kernel(x, weight, bias)!;
        for (int i = 0; i < 16; i++)
        {
            using var alone = Kernel(x.narrow(0, i, 1), weight, bias)!;
            Assert.IsTrue(alone.eq(all.narrow(0, i, 1)).all().item<bool>(), $"row {i} alone differs from row {i} of 16");
        }
        using var last7 = Kernel(x.narrow(0, 9, 7), weight, bias)!;
        Assert.IsTrue(last7.eq(all.narrow(0, 9, 7)).all().item<bool>(), "rows 9-15 of 7 differ from the same rows of 16");
    }

    [TestMethod]
    public void ProductsOutsideItsRangeAreLibTorchsBitForBit()
    {
        RequireKernel();
        using var x = Random([4, 64], 7);
        using var weight = Random([32, 64], 8);
        using (no_grad())
            Assert.IsNull(DecodeProducts.TryLinear(x, weight, null), "outside a decode scope");
        using (DecodeProducts.Enter())
        {
            Assert.IsNull(DecodeProducts.TryLinear(x, weight, null), "with gradients enabled");
            using var noGrad = no_grad();
            using (var inRange = DecodeProducts.TryLinear(x, weight, null)) Assert.IsNotNull(inRange, "the in-range control case");
            using var tooMany = Random([DecodeProducts.MaxRows + 1, 64], 9);
            Assert.IsNull(DecodeProducts.TryLinear(tooMany, weight, null), "more rows than MaxRows");
            using var oddWidth = Random([32, 72], 10);
            using var oddInput = Random([4, 72], 11);
            Assert.IsNull(DecodeProducts.TryLinear(oddInput, oddWidth, null), "an input width that is not a multiple of 16");
            using var half = weight.to(ScalarType.BFloat16);
            using var halfInput = x.to(ScalarType.BFloat16);
            Assert.IsNull(DecodeProducts.TryLinear(halfInput, half, null), "bfloat16");
            using var square = Random([64, 64], 12);
            using var transposed = square.t();
            Assert.IsNull(DecodeProducts.TryLinear(x, transposed, null), "a non-contiguous weight");
            using var viaLinear = DecodeProducts.Linear(tooMany, weight, null);
            using var direct = nn.functional.linear(tooMany, weight);
            Assert.IsTrue(viaLinear.eq(direct).all().item<bool>(), "Linear outside the kernel's range is libtorch's product");
        }
    }

    [TestMethod]
    public void ANonContiguousInputAndLeadingDimensionsAreHandled()
    {
        RequireKernel();
        using var weight = Random([40, 64], 13);
        using var wide = Random([2, 3, 128], 14);
        using var x = wide.narrow(2, 32, 64);                      // (2, 3, 64), not contiguous
        using var y = Kernel(x, weight, null)!;
        CollectionAssert.AreEqual(new long[] { 2, 3, 40 }, y.shape);
        using var expected = nn.functional.linear(x.contiguous(), weight);
        Assert.IsTrue((y - expected).abs().max().item<float>() < 1e-4f);
    }

    private static LocalTextGenerator Engine(string checkpoint, bool kernel) =>
        new(HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", checkpoint)), BuiltInTokenizer.Create(),
            new LocalGeneratorOptions { UseManagedDecodeKernel = kernel });

    [TestMethod]
    [DataRow("qwen2-tiny")]   // q/k/v biases
    [DataRow("llama-tiny")]
    public void TheEngineGivesTheSameGreedyTokensWithTheKernelOnAndOff(string checkpoint)
    {
        RequireKernel();
        var on = Engine(checkpoint, kernel: true);
        var off = Engine(checkpoint, kernel: false);
        Assert.IsTrue(on.UsesManagedDecodeKernel);
        Assert.IsFalse(off.UsesManagedDecodeKernel);
        int[][] prompts = [[5, 17, 42, 99, 3], [11, 12], [7, 30, 31, 32, 33, 34, 35, 36]];
        var options = SamplingOptions.Greedy(40) with { ReturnLogProbs = true };
        var requests = prompts.Select(p => new GenerationRequest { PromptTokenIds = p, Options = options }).ToArray();
        var a = on.Generate(requests);
        var b = off.Generate(requests);
        for (int i = 0; i < prompts.Length; i++)
        {
            CollectionAssert.AreEqual(b[i].Samples[0].TokenIds.ToArray(), a[i].Samples[0].TokenIds.ToArray(), $"prompt {i}");
            for (int t = 0; t < a[i].Samples[0].LogProbs!.Count; t++)
                Assert.AreEqual(b[i].Samples[0].LogProbs![t], a[i].Samples[0].LogProbs![t], 1e-4, $"prompt {i} token {t}");
        }
    }

    [TestMethod]
    public void TheEngineDoesNotUseTheKernelForABFloat16Model()
    {
        RequireKernel();
        var model = HuggingFaceCheckpoint.Load(TestData.PathOf("reference-models", "qwen2-tiny"));
        var engine = new LocalTextGenerator(model, BuiltInTokenizer.Create());
        Assert.IsTrue(engine.UsesManagedDecodeKernel);
        model.To(CPU, ScalarType.BFloat16);
        Assert.IsFalse(engine.UsesManagedDecodeKernel);
    }
}
