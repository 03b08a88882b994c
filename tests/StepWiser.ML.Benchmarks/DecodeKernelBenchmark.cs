using System.Diagnostics;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

/// <summary>
/// The engine with its managed decode kernel (the default where the CPU has AVX-512) against the same engine with
/// libtorch's products (<c>UseManagedDecodeKernel = false</c>), on the built-in Medium model: generated tokens a second
/// at several batch sizes, the two sides alternated <c>--rounds</c> times in one process (each side's best of
/// <c>--repeats</c> per round), and the greedy tokens of both compared.
/// Usage: --suite decode-kernel [--repeats N] [--rounds N]
/// </summary>
internal static class DecodeKernelBenchmark
{
    public static void Run(int repeats, int rounds)
    {
        using var model = CausalLM.CreateRandom(BuiltInModels.Medium, seed: 1);
        model.eval();
        var tokenizer = BuiltInTokenizer.Create();
        var on = new LocalTextGenerator(model, tokenizer);
        var off = new LocalTextGenerator(model, tokenizer, new LocalGeneratorOptions { UseManagedDecodeKernel = false });
        Console.WriteLine($"built-in Medium, float32; threads {get_num_threads()}; kernel in use: {on.UsesManagedDecodeKernel}; 32-token prompts, 128 new tokens (seeded sampling); best of {repeats}, {rounds} alternated rounds");
        Console.WriteLine("| rows | kernel tok/s | libtorch tok/s | kernel ÷ libtorch (best) | each round | greedy tokens |\n|---|---|---|---|---|---|");
        foreach (var rows in new[] { 1, 4, 8, 16, 32 })
        {
            var random = new Random(rows);
            int[][] prompts = Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, 32).Select(_ => random.Next(32, 127)).ToArray()).ToArray();
            GenerationRequest[] Requests(SamplingOptions options) => prompts.Select(p => new GenerationRequest { PromptTokenIds = p, Options = options }).ToArray();
            var sampled = Requests(new SamplingOptions { MaxNewTokens = 128, Temperature = 1, Seed = 3, Stop = [] });
            var greedy = Requests(SamplingOptions.Greedy(128) with { Stop = [] });
            var sameTokens = on.Generate(greedy).Zip(off.Generate(greedy)).Count(p => p.First.Samples[0].TokenIds.SequenceEqual(p.Second.Samples[0].TokenIds));
            double Rate(LocalTextGenerator engine)
            {
                long tokens = 0;
                var seconds = Timing.Best(repeats, () => tokens = engine.Generate(sampled).Sum(r => (long)r.Samples[0].TokenIds.Count));
                return tokens / seconds;
            }
            // Alternate keeps each side's smallest value, so it is handed seconds per token, turned back into rates here.
            var (kernel, libtorch, each) = Timing.Alternate(rounds, () => 1 / Rate(on), () => 1 / Rate(off));
            var ratios = string.Join(", ", each.Select(r => (r.Second / r.First).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)));
            Console.WriteLine($"| {rows} | {1 / kernel:N0} | {1 / libtorch:N0} | **{libtorch / kernel:F2}×** | {ratios} | {sameTokens}/{rows} rows identical |");
        }
    }
}
