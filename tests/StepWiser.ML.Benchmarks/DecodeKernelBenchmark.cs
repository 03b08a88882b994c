using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

/// <summary>
/// The engine's managed decode paths (the default where the CPU has AVX-512) against libtorch's decode forward: the whole
/// step managed (DecodeStep) on libtorch's threads as the engine runs it and on one thread, the products alone managed
/// (DecodeProducts, the engine before the managed step), and everything libtorch's (<c>UseManagedDecodeKernel = false</c>),
/// on built-in models of random weights: generated tokens a second at several batch sizes, the three alternated
/// <c>--rounds</c> times in one process (each side's best of <c>--repeats</c> per round), and the greedy tokens of the
/// managed step compared with libtorch's.
/// Usage: --suite decode-kernel [--repeats N] [--rounds N]
/// </summary>
internal static class DecodeKernelBenchmark
{
    public static void Run(int repeats, int rounds)
    {
        var tokenizer = BuiltInTokenizer.Create();
        Console.WriteLine($"float32; threads {get_num_threads()}; 32-token prompts, 128 new tokens (seeded sampling); best of {repeats}, {rounds} alternated rounds");
        Console.WriteLine("| model | rows | step threads | managed step tok/s | … on one thread | managed products tok/s | libtorch tok/s | step ÷ libtorch (best) | step ÷ one thread | step ÷ products | step ÷ libtorch, each round | greedy tokens, step vs libtorch |\n|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (name, config, batches) in new[] { ("Medium", BuiltInModels.Medium, new[] { 1, 4, 16, 64 }), ("Small", BuiltInModels.Small, new[] { 1, 16, 64 }), ("Tiny", BuiltInModels.Tiny, new[] { 1, 16, 64 }) })
        {
            using var model = CausalLM.CreateRandom(config, seed: 1);
            model.eval();
            var step = new LocalTextGenerator(model, tokenizer);
            var products = new LocalTextGenerator(model, tokenizer, new LocalGeneratorOptions { UseManagedDecodeStep = false });
            var libtorch = new LocalTextGenerator(model, tokenizer, new LocalGeneratorOptions { UseManagedDecodeKernel = false });
            foreach (var rows in batches)
            {
                var random = new Random(rows);
                int[][] prompts = Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, 32).Select(_ => random.Next(32, 127)).ToArray()).ToArray();
                GenerationRequest[] Requests(SamplingOptions options) => prompts.Select(p => new GenerationRequest { PromptTokenIds = p, Options = options }).ToArray();
                var sampled = Requests(new SamplingOptions { MaxNewTokens = 128, Temperature = 1, Seed = 3, Stop = [] });
                var greedy = Requests(SamplingOptions.Greedy(128) with { Stop = [] });
                var sameTokens = step.Generate(greedy).Zip(libtorch.Generate(greedy)).Count(p => p.First.Samples[0].TokenIds.SequenceEqual(p.Second.Samples[0].TokenIds));
                double SecondsPerToken(LocalTextGenerator engine, int? threads = null)
                {
                    DecodeStep.ThreadsOverride = threads;
                    try
                    {
                        long tokens = 0;
                        var seconds = Timing.Best(repeats, () => tokens = engine.Generate(sampled).Sum(r => (long)r.Samples[0].TokenIds.Count));
                        return seconds / tokens;
                    }
                    finally
                    {
                        DecodeStep.ThreadsOverride = null;
                    }
                }
                var best = new double[4];
                var each = new List<double>();
                for (int round = 0; round < rounds; round++)
                {
                    var seconds = new[] { SecondsPerToken(step), SecondsPerToken(step, 1), SecondsPerToken(products), SecondsPerToken(libtorch) };
                    for (int i = 0; i < 4; i++) best[i] = round == 0 ? seconds[i] : Math.Min(best[i], seconds[i]);
                    each.Add(seconds[3] / seconds[0]);
                }
                var ratios = string.Join(", ", each.Select(r => r.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)));
                Console.WriteLine($"| {name} | {rows} | {DecodeStep.Parts(config, rows)} | {1 / best[0]:N0} | {1 / best[1]:N0} | {1 / best[2]:N0} | {1 / best[3]:N0} | **{best[3] / best[0]:F2}×** | {best[1] / best[0]:F2}× | {best[2] / best[0]:F2}× | {ratios} | {sameTokens}/{rows} rows identical |");
            }
        }
    }
}
