using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Tests.Models;

[TestClass]
public sealed class ForwardAtTests
{
    [TestMethod]
    public void LogitsAtChosenPositionsEqualThoseOfTheFullForwardPass()
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
        model.eval();
        using var guard = no_grad();
        using var ids = randint(0, 256, [3, 17], dtype: ScalarType.Int64, generator: new Generator(5));
        using var full = model.Forward(ids);                                   // (3, 17, V)
        long[] at = [0, 5, 16, 17 + 3, 2 * 17 + 16];                          // flat b·T + t, across rows
        using var chosen = model.ForwardAt(ids, tensor(at));                   // (5, V)
        Assert.AreEqual(at.Length, chosen.shape[0]);
        Assert.AreEqual(full.shape[2], chosen.shape[1]);
        for (var i = 0; i < at.Length; i++)
        {
            using var expected = full[at[i] / 17, at[i] % 17];
            using var row = chosen[i];
            Assert.IsTrue(row.allclose(expected, rtol: 1e-5, atol: 1e-5), $"position {at[i]}: max difference {(row - expected).abs().max().item<float>()}");
        }
    }
}

[TestClass]
public sealed class ForwardSharedTests
{
    [TestMethod]
    public void SharedPromptLogitsAndGradientsEqualThoseOfEachFullSequence()
    {
        // Three prompts of different lengths; five responses of different lengths, two groups of two and one of one,
        // listed out of group order (a mini-batch may cut a group).
        var rng = new Random(11);
        int[] Tokens(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(1, 256)).ToArray();
        int[][] prompts = [Tokens(9), Tokens(4), Tokens(13)];
        (int Prompt, int[] Response)[] rows = [(0, Tokens(5)), (2, Tokens(1)), (0, Tokens(7)), (1, Tokens(3)), (2, Tokens(6))];

        var (sharedLogits, sharedGrads) = Run(model => model.ForwardShared(prompts, rows));
        var (fullLogits, fullGrads) = Run(model =>
        {
            // The reference: every row's whole sequence, right-padded, logits at the positions that predict its response.
            var length = rows.Max(r => prompts[r.Prompt].Length + r.Response.Length);
            var ids = new long[rows.Length * length];
            var at = new List<long>();
            for (var b = 0; b < rows.Length; b++)
            {
                var sequence = prompts[rows[b].Prompt].Concat(rows[b].Response).ToArray();
                for (var t = 0; t < sequence.Length; t++) ids[b * length + t] = sequence[t];
                for (var t = 0; t < rows[b].Response.Length; t++) at.Add(b * length + prompts[rows[b].Prompt].Length - 1 + t);
            }
            return model.ForwardAt(tensor(ids).view(rows.Length, length), tensor(at.ToArray()));
        });
        Assert.AreEqual(rows.Sum(r => r.Response.Length), sharedLogits.shape[0]);
        Assert.IsTrue(sharedLogits.allclose(fullLogits, rtol: 1e-4, atol: 1e-5), $"max logit difference {(sharedLogits - fullLogits).abs().max().item<float>()}");
        foreach (var (name, grad) in fullGrads)
            Assert.IsTrue(sharedGrads[name].allclose(grad, rtol: 1e-3, atol: 1e-6), $"{name}: max gradient difference {(sharedGrads[name] - grad).abs().max().item<float>()}");
    }

    /// <summary>Logits of a forward and the gradients of a loss that weighs every logit differently, on a fresh copy of one model.</summary>
    private static (Tensor Logits, Dictionary<string, Tensor> Grads) Run(Func<CausalLM, Tensor> forward)
    {
        var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 3);
        model.train();
        var logits = forward(model);
        var weights = arange(logits.NumberOfElements, dtype: ScalarType.Float32).view(logits.shape).sin();
        (nn.functional.log_softmax(logits, -1) * weights).sum().backward();
        return (logits.detach(), model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
    }
}

[TestClass]
public sealed class DecodeStepTests
{
    [TestMethod]
    [DataRow(ScalarType.Float32, 1e-4)]
    [DataRow(ScalarType.BFloat16, 1e-2)]
    public void CachedDecodeStepsOfLeftPaddedRowsGiveTheLogitsOfTheFullForwardPass(ScalarType dtype, double tolerance)
    {
        // Decode steps (one new token a row) take their own attention path on the CPU (products and an additive mask, not
        // scaled_dot_product_attention): each step's logits must equal the teacher-forced logits of the row's own sequence
        // (in bfloat16 to its precision: the softmax runs in float32 there, as fused kernels do).
        using var model = CausalLM.CreateRandom(BuiltInModels.Tiny, seed: 4);
        model.To(CPU, dtype);
        model.eval();
        using var guard = no_grad();
        var rng = new Random(8);
        int[][] prompts = [[.. Enumerable.Range(0, 9).Select(_ => rng.Next(1, 256))], [.. Enumerable.Range(0, 4).Select(_ => rng.Next(1, 256))], [.. Enumerable.Range(0, 7).Select(_ => rng.Next(1, 256))]];
        int[][] next = [.. prompts.Select(_ => Enumerable.Range(0, 6).Select(_ => rng.Next(1, 256)).ToArray())];
        int rows = prompts.Length, length = prompts.Max(p => p.Length), steps = next[0].Length;

        using var cache = new KvCache(model.Config, rows, length + steps, model.Device, model.DType);
        var ids = new long[rows * length];
        var valid = new bool[rows * length];
        var positions = new long[rows * length];
        for (var b = 0; b < rows; b++)
            for (int pad = length - prompts[b].Length, t = 0; t < prompts[b].Length; t++)
                (ids[b * length + pad + t], valid[b * length + pad + t], positions[b * length + pad + t]) = (prompts[b][t], true, t);
        using (var scope = NewDisposeScope())
        {
            var validT = tensor(valid).view(rows, length);
            cache.MarkValid(validT);
            var mask = ones(length, length, dtype: ScalarType.Bool).tril().unsqueeze(0).logical_and(validT.unsqueeze(1)).logical_or(eye(length, dtype: ScalarType.Bool).unsqueeze(0)).unsqueeze(1);
            model.Hidden(tensor(ids).view(rows, length), tensor(positions).view(rows, length), mask, cache);
            cache.Advance(length);
        }
        for (var s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            cache.MarkValid(ones(rows, 1, dtype: ScalarType.Bool));
            var mask = cache.Valid.narrow(1, 0, cache.Length + 1).view(rows, 1, 1, cache.Length + 1);
            var step = model.Logits(model.Hidden(tensor(next.Select(n => (long)n[s]).ToArray()).view(rows, 1),
                tensor(prompts.Select(p => (long)(p.Length + s)).ToArray()).view(rows, 1), mask, cache).squeeze(1));   // (rows, V)
            cache.Advance(1);
            for (var b = 0; b < rows; b++)
            {
                var sequence = prompts[b].Concat(next[b].Take(s + 1)).Select(x => (long)x).ToArray();
                var expected = model.Forward(tensor(sequence).unsqueeze(0))[0, -1];
                var difference = (step[b] - expected).abs().max().to(ScalarType.Float32).item<float>();
                var scale = expected.abs().max().to(ScalarType.Float32).item<float>();
                Assert.IsTrue(difference <= tolerance * Math.Max(1, scale), $"{dtype}, step {s}, row {b}: max difference {difference} (largest logit {scale})");
            }
        }
    }
}
