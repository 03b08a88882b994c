using System.Diagnostics;
using StepWiser.ML.Models;
using StepWiser.ML.Training;
using static TorchSharp.torch;

/// <summary>
/// Where a supervised update's time goes (issues 14 and 17): on a built-in model, a (batch, length) batch of random
/// tokens, the time of the forward pass, of forward + backward, and of a whole update (+ clipping and AdamW), each
/// the median of <c>--repeats</c> runs after warm-up, with the achieved GFLOP/s of the matrix products (6 × parameters ×
/// tokens). Usage: --suite sft-step [--model tiny|small|medium] [--batch 32] [--length 300] [--repeats 10]
/// </summary>
internal static class SftStepBenchmark
{
    public static void Run(string size, int batch, int length, int repeats)
    {
        var config = size switch { "tiny" => BuiltInModels.Tiny, "small" => BuiltInModels.Small, _ => BuiltInModels.Medium };
        using var model = CausalLM.CreateRandom(config, seed: 1);
        model.train();
        var random = new Random(1);
        using var ids = tensor(Enumerable.Range(0, batch * length).Select(_ => (long)random.Next(32, 127)).ToArray()).view(batch, length);
        using var targets = ids.roll(-1, 1).reshape(-1);
        using var optimizer = new AdamW(model.named_parameters());
        var responseIndex = Enumerable.Range(0, batch * length).Where(i => i % length >= length - length / 4 && i % length < length - 1).Select(i => (long)i).ToArray();
        using var responseAt = tensor(responseIndex);
        using var responseTargets = targets.index_select(0, responseAt);
        var maskedTargets = Enumerable.Repeat(-100L, batch * length).ToArray();
        var flatTargets = targets.data<long>().ToArray();
        foreach (var i in responseIndex) maskedTargets[i] = flatTargets[i];
        using var masked = tensor(maskedTargets);
        Tensor Loss()
        {
            var logits = model.Forward(ids);
            return nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets);
        }
        Action[] parts =
        [
            () => { using var s = NewDisposeScope(); using var g = no_grad(); Loss(); },
            () => { using var s = NewDisposeScope(); Loss(); },
            () => { using var s = NewDisposeScope(); optimizer.ZeroGrad(); Loss().backward(); },
            () =>
            {
                using var s = NewDisposeScope();
                optimizer.ZeroGrad();
                Loss().backward();
                nn.utils.clip_grad_norm_(optimizer.Parameters, 1.0);
                optimizer.Update(1e-4);
            },
            // A whole update whose loss covers only the last quarter of each row (an analysis stage's response share):
            // the output head over every position, then the loss at those positions (before), against the head at
            // those positions only (CausalLM.ForwardAt, what SftTrainer and GrpoTrainer do now).
            () =>
            {
                using var s = NewDisposeScope();
                optimizer.ZeroGrad();
                var logits = model.Forward(ids);
                nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), masked, ignore_index: -100).backward();
                optimizer.Update(1e-4);
            },
            () =>
            {
                using var s = NewDisposeScope();
                optimizer.ZeroGrad();
                nn.functional.cross_entropy(model.ForwardAt(ids, responseAt), responseTargets).backward();
                optimizer.Update(1e-4);
            },
        ];
        // Rounds of all four parts, so that drift on a shared machine touches each alike; the first rounds warm up
        // (fresh memory makes the first calls up to three times slower), then the median of each part.
        var times = parts.Select(_ => new List<double>()).ToArray();
        for (int round = -3; round < repeats; round++)
            for (int i = 0; i < parts.Length; i++)
            {
                var c = Stopwatch.StartNew();
                parts[i]();
                if (round >= 0) times[i].Add(c.Elapsed.TotalMilliseconds);
            }
        var median = times.Select(t => t.Order().ElementAt(t.Count / 2)).ToArray();
        var (fwd, fwdGrad, fwdBwd, step) = (median[0], median[1], median[2], median[3]);
        double flops = 6.0 * model.ParameterCount * batch * length;
        Console.WriteLine($"sft step: built-in {size} ({model.ParameterCount:N0} parameters), batch {batch} x {length} tokens, threads {get_num_threads()}");
        Console.WriteLine($"| part | ms | share of the update |\n|---|---|---|");
        Console.WriteLine($"| forward (no grad) | {fwd:F1} | {fwd / step:P0} |");
        Console.WriteLine($"| forward (recording) | {fwdGrad:F1} | {fwdGrad / step:P0} |");
        Console.WriteLine($"| backward | {fwdBwd - fwdGrad:F1} | {(fwdBwd - fwdGrad) / step:P0} |");
        Console.WriteLine($"| clip + AdamW | {step - fwdBwd:F1} | {(step - fwdBwd) / step:P0} |");
        Console.WriteLine($"| whole update | {step:F1} | 100 % |");
        Console.WriteLine($"matrix-product rate: {flops / (step / 1000) / 1e9:F1} GFLOP/s; {60000 / step:F0} updates a minute");
        Console.WriteLine($"loss on the last quarter of positions: output head everywhere {median[4]:F1} ms vs only there {median[5]:F1} ms = {median[4] / median[5]:F2}x");
    }
}
