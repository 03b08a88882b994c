using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using static TorchSharp.torch;

// Foundation benchmarks (issue 2). Every number is a ratio of two measurements taken in this one run, on the same
// model, so the noise of a shared machine cancels as far as it can. Usage:
//   dotnet run --project tests/StepWiser.ML.Benchmarks -c Release [-- --suite all|generation|tokenizer|annotation] [--model small|medium] [--repeats N] [--rounds N] [--dtype float32|bfloat16|float16]
//   dotnet run --project tests/StepWiser.ML.Benchmarks -c Release -- --suite namespaces   (the namespace graph of docs/architecture.md)
//   dotnet run --project tests/StepWiser.ML.Benchmarks -c Release -- --suite knob [--steps 4000] [--problems 60]   (issue 4; not in "all": ~8 min)
//   dotnet run --project tests/StepWiser.ML.Benchmarks -c Release -- --suite policy-band [--seeds 1,2,3] [--threads 1,2] [--band 0.35,0.7] [--every 100] [--steps 3000] [--validation 32]   (not in "all": ~20 min)
//   Not in "all" either, each documented with its command in lab/benchmarks.md: --suite judge-ladder, analysis-curve,
//   calibration [--votes K], search [--judges a,b --seeds 9,10,11], peer, fusion, bandwidth, decode-kernel, grpo-step, sft-step, memory-plan [--rows 0,3] (all but peer/fusion/bandwidth/decode-kernel/sft-step/memory-plan read a main job's --from OUT).
// A bad option (a missing --from, a number or --dtype that does not parse) is one line on stderr and exit 2, not a stack trace.
AppDomain.CurrentDomain.UnhandledException += (_, e) =>
{
    if (e.ExceptionObject is not (ArgumentException or FormatException)) return;
    Console.Error.WriteLine($"error: {((Exception)e.ExceptionObject).Message}");
    Environment.Exit(2);
};
string size = args.SkipWhile(a => a != "--model").Skip(1).FirstOrDefault() ?? "medium";
string suite = args.SkipWhile(a => a != "--suite").Skip(1).FirstOrDefault() ?? "all";
string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
// Every number an option takes is parsed here, so a bad one is an error that names the option and the value.
int Int(string name, string value) => int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
    ? parsed : throw new ArgumentException($"{name} {value}: expected an integer");
double Double(string name, string value) => double.TryParse(value, System.Globalization.NumberStyles.Float | System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
    ? parsed : throw new ArgumentException($"{name} {value}: expected a number");
int IntArg(string name, int fallback) => Arg(name) is { } value ? Int(name, value) : fallback;
double DoubleArg(string name, double fallback) => Arg(name) is { } value ? Double(name, value) : fallback;
int[] Ints(string name, string fallback) => (Arg(name) ?? fallback).Split(',').Select(v => Int(name, v)).ToArray();
int repeats = IntArg("--repeats", 3);
// --threads N sets torch's thread count explicitly before any suite (without it, libtorch's default state): the two
// states differ in more than the count (lab/benchmarks.md, "Decode attention written out"). The policy-band suite
// reads its own --threads list (1,2) and sets each count itself.
if (suite is not "policy-band" && Arg("--threads") is { } threadArg) set_num_threads(Int("--threads", threadArg));
if (suite is "namespaces")
{
    // The library's namespace graph as docs/architecture.md embeds it (issue 16), from the sources of this checkout.
    var dir = new DirectoryInfo(Environment.CurrentDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StepWiser.sln"))) dir = dir.Parent;
    if (dir is null) { Console.Error.WriteLine("error: run this from inside the repository (StepWiser.sln not found above the current folder)"); Environment.Exit(2); }
    var graph = StepWiser.ML.Tests.Architecture.NamespaceGraph.FromSources(Path.Combine(dir.FullName, "src", "StepWiser.ML"), Path.Combine(dir.FullName, "src", "StepWiser.ML.Worlds"));
    Console.Write(graph.ToMermaid());
    foreach (var cycle in graph.Cycles()) Console.Error.WriteLine("cycle: " + cycle);
    return;
}
if (suite is "judge-ladder")
{
    var recipe = new StepWiser.ML.Judging.JudgeRecipeOptions();
    if (Arg("--pretrain-steps") is { } ps) recipe = recipe with { PretrainSteps = Int("--pretrain-steps", ps) };
    if (Arg("--warmup-steps") is { } ws) recipe = recipe with { WarmupSteps = Int("--warmup-steps", ws) };
    if (Arg("--pretrain-lr") is { } pl) recipe = recipe with { PretrainLearningRate = Double("--pretrain-lr", pl) };
    if (Arg("--warmup-lr") is { } wl) recipe = recipe with { WarmupLearningRate = Double("--warmup-lr", wl) };
    if (Arg("--rl-steps") is { } rs) recipe = recipe with { Grpo = recipe.Grpo with { Steps = Int("--rl-steps", rs) } };
    if (Arg("--rl-lr") is { } rl) recipe = recipe with { Grpo = recipe.Grpo with { LearningRate = Double("--rl-lr", rl) } };
    if (Arg("--rl-kl") is { } kl) recipe = recipe with { Grpo = recipe.Grpo with { KlCoefficient = Double("--rl-kl", kl) } };
    if (Arg("--judge-tokens") is { } jt) recipe = recipe with { Grpo = recipe.Grpo with { MaxNewTokens = Int("--judge-tokens", jt) } };
    JudgeLadderBenchmark.Run(Arg("--from") ?? throw new ArgumentException("--from OUT (a main job output folder) is required"),
        Ints("--seeds", "1,2,3"), Arg("--rows")?.Split(',').ToHashSet(), recipe, IntArg("--pretrain-problems", 600), !args.Contains("--no-pretrain-balance"),
        IntArg("--base-updates", 0), DoubleArg("--base-lr", 3e-4),
        Arg("--judge-model"));
    return;
}
if (suite is "all" or "tokenizer") TokenizerBenchmark.Run(repeats);
if (suite is "all" or "annotation") AnnotationBenchmark.Run();
if (suite is "analysis-curve")
{
    AnalysisCurveBenchmark.Run(Arg("--from") ?? throw new ArgumentException("--from OUT (a main job output folder) is required"), IntArg("--steps", 3000), IntArg("--every", 250),
        DoubleArg("--pretrain-lr", 3e-3), IntArg("--pretrain-problems", 600), IntArg("--seed", 1), Arg("--scratch"), Arg("--format") ?? "compare", IntArg("--batch", 32));
    return;
}
if (suite is "calibration") { CalibrationBenchmark.Run(Arg("--from") ?? throw new ArgumentException("--from OUT (a main job output folder) is required"), IntArg("--votes", 1), args.Contains("--dev")); return; }
if (suite is "search")
{
    SearchBenchmark.Run(Arg("--from") ?? throw new ArgumentException("--from OUT (a main job output folder) is required"), Arg("--judges")?.Split(','),
        Ints("--seeds", "9,10,11"), IntArg("--problems", 200), !args.Contains("--uncalibrated"));
    return;
}
if (suite is "fusion") { FusionBenchmark.Run(repeats); return; }
if (suite is "decode-kernel") { DecodeKernelBenchmark.Run(repeats, IntArg("--rounds", 3)); return; }
if (suite is "bandwidth") { BandwidthBenchmark.Run(repeats, Arg("--dtype") ?? "float32"); return; }
if (suite is "peer") { PeerBenchmark.Run(size, repeats, IntArg("--rounds", 1)); return; }
if (suite is "grpo-budget") { GrpoBudgetBenchmark.Run(Arg("--from") ?? throw new ArgumentException("--from OUT (a main job output folder) is required"), Ints("--seeds", "1"), Arg("--variants")?.Split(',').ToHashSet()); return; }
if (suite is "grpo-step") { GrpoStepBenchmark.Run(Arg("--from") ?? throw new ArgumentException("--from OUT (a main job output folder) is required"), IntArg("--steps", 10)); return; }
if (suite is "memory-plan") { MemoryPlanBenchmark.Run(Arg("--rows") is { } rows ? Ints("--rows", rows) : null); return; }
if (suite is "memory-plan-row") { MemoryPlanBenchmark.RunRow(IntArg("--row", 0)); return; }
if (suite is "sft-step") { SftStepBenchmark.Run(Arg("--model") ?? "tiny", IntArg("--batch", 32), IntArg("--length", 300), IntArg("--repeats", 10)); return; }
if (suite is "policy-band") { PolicyBandBenchmark.Run(Ints("--seeds", "1,2,3"), Ints("--threads", "1,2"), o => { if (Arg("--band")?.Split(',').Select(x => Double("--band", x)).ToArray() is [var lo, var hi]) o.TargetAccuracy = new(lo, hi); if (Arg("--every") is { } e) o.EvaluateEvery = Int("--every", e); if (Arg("--steps") is { } s) o.Steps = Int("--steps", s); if (Arg("--validation") is { } v) o.ValidationProblems = Int("--validation", v); }); return; }
if (suite is "knob")
{
    KnobBenchmark.Run(IntArg("--steps", 4000), IntArg("--problems", 60));
    return;
}
if (suite is not ("all" or "generation")) return;
var config = size == "small" ? BuiltInModels.Small : BuiltInModels.Medium;
using var model = CausalLM.CreateRandom(config, seed: 1);
model.eval();
// --dtype bfloat16 (or float16): every generation row runs on the model in that type (both sides of each ratio); SFT stays float32.
var dtypeName = Arg("--dtype") ?? "float32";
var dtype = DTypeOption.Parse(dtypeName);
model.To(CPU, dtype);
var tokenizer = BuiltInTokenizer.Create();
var engine = new LocalTextGenerator(model, tokenizer);
var naive = new LocalTextGenerator(model, tokenizer, new LocalGeneratorOptions { UseKvCache = false, MaxBatchRows = 1 });
Console.WriteLine($"model: built-in {size}, {model.ParameterCount:N0} parameters, {dtypeName}; threads: {get_num_threads()}; repeats: {repeats} (best of)");

int[] Prompt(int length, int seed)
{
    var random = new Random(seed);
    return Enumerable.Range(0, length).Select(_ => random.Next(32, 127)).ToArray();
}

// Seeded temperature-1 sampling: both sides of each comparison draw the same tokens (an early EOS ends both alike).
SamplingOptions Fixed(int newTokens, int samples = 1) => new() { NumSamples = samples, MaxNewTokens = newTokens, Temperature = 1, Seed = 3 };
GenerationRequest Request(int[] prompt, SamplingOptions o) => new() { PromptTokenIds = prompt, Options = o };

// 1. Decode efficiency: generated tokens/s vs tokens/s of one teacher-forced forward pass over the same sequences.
// --rounds N alternates the two sides N times (each side's best over the rounds; each round's ratio printed), so a load
// that comes and goes on a shared machine meets both alike.
int rounds = IntArg("--rounds", 1);
foreach (int batch in new[] { 16, 64 })
{
    const int promptLen = 32, newTokens = 128;
    var requests = Enumerable.Range(0, batch).Select(i => Request(Prompt(promptLen, i), Fixed(newTokens))).ToArray();
    // Seeded sampling: every generation call draws the same tokens, so one teacher-forced batch serves every round.
    var generated = engine.Generate(requests);
    long genTokens = generated.Sum(r => r.Samples[0].TokenIds.Count);
    var full = generated.Select((r, i) => requests[i].PromptTokenIds!.Concat(r.Samples[0].TokenIds).Select(x => (long)x).ToArray()).ToArray();
    int len = full.Min(f => f.Length);
    using var ids = tensor(full.SelectMany(f => f.Take(len)).ToArray()).view(batch, len);
    var (genSeconds, fwdSeconds, roundTimes) = Timing.Alternate(rounds,
        () => Timing.Best(repeats, () => engine.Generate(requests)),
        () => Timing.Best(repeats, () => { using var _ = no_grad(); using var logits = model.Forward(ids); }));
    double Ratio(double gen, double fwd) => genTokens / gen / (batch * len / fwd);
    double genRate = genTokens / genSeconds, fwdRate = batch * len / fwdSeconds;
    var each = rounds > 1 ? $"; rounds {string.Join(", ", roundTimes.Select(r => Ratio(r.First, r.Second).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}" : "";
    Console.WriteLine($"decode efficiency: engine {genRate:N0} generated tok/s (batch {batch}, {newTokens} new) / teacher-forced forward {fwdRate:N0} tok/s = {genRate / fwdRate:F2} (goal >= {(batch >= 64 ? "0.6" : "0.5")}, issue 17{each})");
}

// 2. Engine vs naive generation (batch 1, no KV cache), 16 samples of 128 new tokens.
{
    var prompt = Prompt(32, 7);
    double fast = Timing.Best(repeats, () => engine.Generate([Request(prompt, Fixed(128, 16))]));
    double slow = Timing.Best(1, () => naive.Generate([Request(prompt, Fixed(128, 16))]));
    Console.WriteLine($"engine vs naive (16 samples x 128 tokens): {slow:F2} s / {fast:F2} s = {slow / fast:F1}x (goal >= 20x)");
}

// 3. Forked prefix vs 16 independent requests of the same prefix (both in one call, batched together): the 256/64 shape
// and the Monte-Carlo annotation shape, a long prefix with short continuations (512/32).
foreach (var (prefix, newTokens) in new[] { (256, 64), (512, 32) })
{
    var prompt = Prompt(prefix, 11);
    double forked = Timing.Best(repeats, () => engine.Generate([Request(prompt, Fixed(newTokens, 16))]));
    double independent = Timing.Best(repeats, () => engine.Generate(Enumerable.Range(0, 16).Select(j => Request(prompt, Fixed(newTokens) with { Seed = 3 + j })).ToArray()));
    Console.WriteLine($"forked prefix vs 16 independent requests ({prefix}-token prefix, {newTokens} new): {independent:F2} s / {forked:F2} s = {independent / forked:F1}x (goal >= 3x)");
}

// 4. SFT throughput and overhead over a bare TorchSharp forward/backward/AdamW loop on identical batches.
if (dtype != ScalarType.Float32) Console.WriteLine("SFT: measured in float32 only (run without --dtype)");
else
{
    var random = new Random(5);
    var examples = Enumerable.Range(0, 512).Select(_ => new SftExample(new string('q', 64), new string((char)random.Next(97, 123), 63))).ToArray();
    int steps = 20, batchSize = 16;
    var sftModel = CausalLM.CreateRandom(config, seed: 2);
    double sft = Timing.Best(repeats, () => new SftTrainer(sftModel, tokenizer, new SftOptions { Steps = steps, BatchSize = batchSize, WarmupSteps = 0 }).Train(examples));
    long tokensPerStep = batchSize * 128;

    var bareModel = CausalLM.CreateRandom(config, seed: 2);
    var opt = optim.AdamW(bareModel.parameters(), lr: 1e-3);
    var bareIds = tensor(Enumerable.Range(0, batchSize * 128).Select(i => (long)(97 + i % 26)).ToArray()).view(batchSize, 128);
    bareModel.train();
    double bare = Timing.Best(repeats, () =>
    {
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var logits = bareModel.Forward(bareIds);
            var loss = nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, logits.shape[2]), bareIds[.., 1..].reshape(-1));
            loss.backward();
            opt.step();
        }
    });
    Console.WriteLine($"SFT: {steps * tokensPerStep / sft:N0} tok/s; bare forward/backward/AdamW loop {steps * tokensPerStep / bare:N0} tok/s; overhead {(sft / bare - 1) * 100:F1}% (goal <= 10%)");
}
