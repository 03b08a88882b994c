// Lab harness of lab/judge-design.md: world variants, policy training, the verification analysis and a short judge run on a main-job folder.
// Not part of the solution; build it with `dotnet build lab/judge-design -c Release`.
using StepWiser.ML.Worlds;
using StepWiser.ML.Models;
using StepWiser.ML.Generation;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Chunking;

var cmd = args.Length > 0 ? args[0] : "show";
var diff = args.Length > 1 ? double.Parse(args[1]) : 0.5;
var wopts = ArithmeticChainOptions.SeveralPaths(diff);
if (Environment.GetEnvironmentVariable("CHECKS") is { } ch) wopts.CheckRate = double.Parse(ch);
if (Environment.GetEnvironmentVariable("OVERWRITE") is { } ow) wopts.OverwriteRate = double.Parse(ow);
if (Environment.GetEnvironmentVariable("DIVIDE") is { } dv) wopts.DivideRate = double.Parse(dv);
if (Environment.GetEnvironmentVariable("ANYORDER") is { } ao) wopts.AnyOrder = ao == "1";
var world = new ArithmeticChainWorld(wopts);
var tag = Environment.GetEnvironmentVariable("TAG") ?? "";
var outDir = Environment.GetEnvironmentVariable("OUT") ?? Path.Combine("out", "lab");   // where policies are written and read
Directory.CreateDirectory(outDir);
// The numbered template with the new step's characters set apart by spaces, so that no stretch of the analysis repeats a stretch of the step token for token.
var Spaced = new StepWiser.ML.Judging.JudgeTemplate("numbered-spaced", input =>
{
    var numbered = StepWiser.ML.Judging.JudgeTemplate.Numbered.Render(input);
    var line = StepWiser.ML.Judging.JudgeTemplate.OneLine(input.Chunk);
    var at = numbered.LastIndexOf(line, StringComparison.Ordinal);
    return numbered[..at] + string.Join(' ', line.ToCharArray()) + numbered[(at + line.Length)..];
});
// The policy-native template: the step to judge first, then the problem and history as the policy's own prompt and
// chunks, then an open chunk: the analysis re-derives the step's equation where the policy computes best.
var Native = new StepWiser.ML.Judging.JudgeTemplate("policy-native", input =>
    StepWiser.ML.Chunking.ChunkParser.OpenTag + StepWiser.ML.Judging.JudgeTemplate.OneLine(input.Chunk) + StepWiser.ML.Chunking.ChunkParser.CloseTag + "\n\n"
    + WorldJudging.PolicyPrefix(input) + StepWiser.ML.Chunking.ChunkParser.OpenTag);
if (cmd == "show")
{
    foreach (var p in world.Generate("train", 5, 1))
    {
        Console.WriteLine(p.Problem);
        Console.WriteLine(p.ChunkedSolution);
        var c = ArithmeticChainWorld.Check(p, p.Chunks);
        Console.WriteLine($"check first error {c.FirstErrorIndex} correct {c.IsCorrect}");
        Console.WriteLine();
    }
    var all = world.Generate("train", 2000, 1);
    Console.WriteLine($"canonical all pass: {all.All(p => ArithmeticChainWorld.Check(p, p.Chunks).FirstErrorIndex < 0)}; budget {world.Options.SolutionTokenBudget}; max len {all.Max(p => p.ChunkedSolution.Length)}");
    Console.WriteLine($"ops per problem {all.Average(p => p.Operations.Count):F2}; divides {all.Average(p => p.Operations.Count(o => o.Operator == '/')):F2} mult {all.Average(p => p.Operations.Count(o => o.Operator == '*')):F2} set {all.Average(p => p.Operations.Count(o => o.Operator == '=')):F2}");
}
else if (cmd == "policy")
{
    var options = new WorldPolicyOptions { Threads = int.Parse(Environment.GetEnvironmentVariable("THREADS") ?? "2") };
    if (Environment.GetEnvironmentVariable("MODEL") == "small") options.Model = BuiltInModels.Small;   // MODEL=small: 4 layers × 128 instead of Tiny's 2 × 64
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var t = WorldPolicy.TrainToBand(world, options, new Progress<TrainingProgress>(p => { if (p.Step % 100 == 0) Console.WriteLine($"step {p.Step} loss {p.Loss:F3} {clock.Elapsed}"); }));
    Console.WriteLine($"updates {t.Updates} inband {t.InBand} checks {string.Join(", ", t.Checks.Select(c => $"{c.Updates}:{c.Accuracy:P0}"))} {clock.Elapsed}");
    HuggingFaceCheckpoint.Save(t.Model, outDir + "/policy-" + diff + tag);
    BuiltInTokenizer.Save(outDir + "/policy-" + diff + tag);
}
else if (cmd == "eval")
{
    using var model = HuggingFaceCheckpoint.Load(outDir + "/policy-" + diff + tag);
    var gen = new LocalTextGenerator(model, BuiltInTokenizer.Create());
    var problems = world.Generate("heldout", 200, 1);
    var ev = await WorldPolicy.EvaluateAsync(gen, problems, new SamplingOptions { NumSamples = 8, MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = 1, Seed = 1 });
    Console.WriteLine($"acc {ev.Accuracy:P1} complete {ev.CompletionRate:P1} mixed {ev.MixedPromptRate:P1} correct-but-flawed {ev.CorrectButFlawedRate:P1}");
    var correct = ev.Checks.SelectMany(c => c).Where(c => c.IsCorrect).ToArray();
    Console.WriteLine($"flawed share of correct {correct.Count(c => c.FirstErrorIndex >= 0) / (double)correct.Length:P1}");
    var distinct = ev.Checks.Count(cs => cs.Where(c => c.IsCorrect).Select(c => string.Join("|", c.Chunks)).Distinct().Count() >= 2);
    var distinctClean = ev.Checks.Count(cs => cs.Where(c => c.IsCorrect && c.FirstErrorIndex < 0).Select(c => string.Join("|", c.Chunks)).Distinct().Count() >= 2);
    Console.WriteLine($"prompts with >=2 distinct correct texts {distinct / (double)problems.Count:P1} (gold-clean: {distinctClean / (double)problems.Count:P1})");
    // first error kinds
    var kinds = new Dictionary<string, int>();
    var opsTotal = new Dictionary<char, int>(); var opsWrong = new Dictionary<char, int>();
    for (int i = 0; i < problems.Count; i++)
        foreach (var c in ev.Checks[i])
        {
            if (c.FirstErrorIndex < 0) continue;
            var chunk = c.Chunks[c.FirstErrorIndex];
            var line = chunk.Split("\n\n").Last();
            string kind;
            var m = System.Text.RegularExpressions.Regex.Match(line, @"^(\d+)([+\-*/])(\d+)=(\d+)$");
            if (chunk.Contains("boxed")) kind = "answer";
            else if (m.Success) kind = "eq" + m.Groups[2].Value;
            else if (line.Contains("->")) kind = "set";
            else kind = "other";
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }
    Console.WriteLine("first error kinds: " + string.Join(", ", kinds.OrderByDescending(k => k.Value).Select(k => $"{k.Key}:{k.Value}")));
    for (int i = 0; i < 6; i++)
    {
        var c = ev.Checks[i].FirstOrDefault(x => x.FirstErrorIndex >= 0);
        if (c is null) continue;
        Console.WriteLine(problems[i].Problem);
        Console.WriteLine($"  first error {c.FirstErrorIndex}: " + string.Join(" | ", c.Chunks.Select(x => x.Replace("\n\n", " / "))) + $"  correct={c.IsCorrect}");
        Console.WriteLine($"  canonical: " + string.Join(" | ", problems[i].Chunks.Select(x => x.Replace("\n\n", " / "))));
    }
}
if (cmd == "analysis")
{
    foreach (var p in world.Generate("train", 3, 7))
    {
        Console.WriteLine(p.Problem);
        for (int k = 0; k < p.Chunks.Count; k++)
        {
            var input = new StepWiser.ML.Judging.JudgeInput(p.Problem, p.Chunks.Take(k).ToArray(), p.Chunks[k]);
            Console.WriteLine($"  {p.Chunks[k].Replace("\n\n", " / ")}  ->  {StepVerification.Analysis(input)}");
            var bad = p.Chunks[k].Replace("1", "2");
            if (bad != p.Chunks[k]) Console.WriteLine($"  {bad.Replace("\n\n", " / ")}  ->  {StepVerification.Analysis(input with { Chunk = bad })}");
        }
    }
}
if (cmd == "judge")
{
    // args: judge <difficulty> <folder> [analysisSteps] [warmupSteps] [grpoSteps] [kl] [rlLr]
    var folder = args[2];
    int analysisSteps = args.Length > 3 ? int.Parse(args[3]) : 1000;
    int warmupSteps = args.Length > 4 ? int.Parse(args[4]) : 150;
    int grpoSteps = args.Length > 5 ? int.Parse(args[5]) : 30;
    double kl = args.Length > 6 ? double.Parse(args[6]) : 0.2;
    double rlLr = args.Length > 7 ? double.Parse(args[7]) : 1e-4;
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(int.Parse(Environment.GetEnvironmentVariable("THREADS") ?? "1"));
    using var policyModel = HuggingFaceCheckpoint.Load(folder + "/policy");
    var policy = new LocalTextGenerator(policyModel, tok);
    var solutions = StepWiser.ML.Annotation.TrlStepwiseFormat.Read(folder + "/labels-absoluteq.jsonl");
    var labelled = StepWiser.ML.Judging.JudgeRecipe.SelectSteps(solutions, StepWiser.ML.Judging.StepSelection.UpToFirstNegative);
    var clock = System.Diagnostics.Stopwatch.StartNew();
    IReadOnlyList<StepWiser.ML.Judging.JudgeInput> unlabelled;
    if (Environment.GetEnvironmentVariable("NATURAL_T") is { } natural)
    {
        // Unlabelled steps sampled hotter, so more of them carry the policy's own kind of slip.
        var list = world.Generate("judge-pretrain", int.Parse(Environment.GetEnvironmentVariable("NATURAL_N") ?? "1200"), 1);
        var sampled = await policy.GenerateAsync(list.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { NumSamples = 2, MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = float.Parse(natural), Seed = 3 })).ToArray());
        unlabelled = list.SelectMany((p, i) => sampled[i].Samples.SelectMany(s =>
        {
            var chunks = ChunkParser.ParseTags(s.Text, MalformedChunkPolicy.Repair).Chunks;
            return chunks.Select((c, k) => new StepWiser.ML.Judging.JudgeInput(p.Problem, chunks.Take(k).ToArray(), c));
        })).ToArray();
    }
    else unlabelled = await WorldJudging.UnlabelledStepsAsync(policy, world, int.Parse(Environment.GetEnvironmentVariable("NATURAL_N") ?? "1200"), default, 1.3f);   // as the main job
    Console.WriteLine($"{unlabelled.Count} unlabelled steps, {labelled.Count} labelled ({labelled.Count(e => e.Label)} positive) {clock.Elapsed}");
    Func<StepWiser.ML.Judging.JudgeInput, string> analysisOf = Environment.GetEnvironmentVariable("ANALYSIS") == "digits" ? x => DigitBlocks(StepVerification.Analysis(x)) : StepVerification.Analysis;
    Dictionary<string, string> selfDigits = new();
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").ToArray();
    var template = Environment.GetEnvironmentVariable("TEMPLATE") == "spaced" ? Spaced : Environment.GetEnvironmentVariable("ANALYSIS") == "native" ? Native : StepWiser.ML.Judging.JudgeTemplate.Numbered;
    if (Environment.GetEnvironmentVariable("ANALYSIS") == "native")
    {
        // The recomputed digits are the policy's own: its greedy continuation of the equation in the judge's prompt.
        var devInputs = dev.SelectMany(r => Enumerable.Range(0, r.Steps.Length).Select(k => new StepWiser.ML.Judging.JudgeInput(r.Problem, r.Steps.Take(k).ToArray(), r.Steps[k])));
        var all = unlabelled.Concat(labelled.Select(e => e.Input)).Concat(devInputs).ToArray();
        if (Environment.GetEnvironmentVariable("REWRITE") is { } rw0) all = all.Concat(Rewrite(unlabelled, double.Parse(rw0), 7)).ToArray();
        selfDigits = await SelfDigitsAsync(policy, Native, all);
        Console.WriteLine($"self digits for {selfDigits.Count} equations {clock.Elapsed}");
        analysisOf = x => NativeAnalysis(x, Native, selfDigits);
    }
    Console.WriteLine($"unlabelled flagged by the analysis: {unlabelled.Count(u => analysisOf(u).Contains('!'))}");
    if (Environment.GetEnvironmentVariable("SHOW") == "1") foreach (var u in unlabelled.Take(12)) Console.WriteLine($"  {u.Chunk.Replace("\n\n", " / ")} -> {analysisOf(u).Replace("\n", "|")}");
    var recipe = new StepWiser.ML.Judging.JudgeRecipeOptions { PretrainSteps = analysisSteps, WarmupSteps = warmupSteps, PretrainBalanceBy = StepWiser.ML.Judging.JudgeRecipeOptions.ByFlaggedCheck, Seed = 1, Balance = Environment.GetEnvironmentVariable("BALANCE") != "0",
        Grpo = new StepWiser.ML.Judging.GrpoOptions { Steps = grpoSteps, PromptsPerStep = 16, GroupSize = 4, MiniBatchSize = 32, LearningRate = rlLr, KlCoefficient = kl, MaxNewTokens = 96, WarmupSteps = 5, Seed = 1 } };
    var analysed = Environment.GetEnvironmentVariable("ANALYSED");   // a saved analysis stage: skip it
    using var judgeModel = HuggingFaceCheckpoint.Load(analysed ?? folder + "/policy");
    // FREEZE=a,b: parameters whose name contains any of these stay as the policy left them in every stage (AdamW skips
    // parameters without requires_grad), e.g. "mlp,embed" keeps the policy's feed-forward layers and embeddings.
    if (Environment.GetEnvironmentVariable("FREEZE") is { } freeze)
    {
        var parts = freeze.Split(',');
        int frozen = 0, total = 0;
        foreach (var (name, p) in judgeModel.named_parameters())
        {
            total++;
            if (parts.Any(x => name.Contains(x, StringComparison.Ordinal))) { p.requires_grad = false; frozen++; }
        }
        Console.WriteLine($"frozen {frozen} of {total} parameter tensors ({freeze})");
    }
    var practice = Environment.GetEnvironmentVariable("REWRITE") is { } rw ? Rewrite(unlabelled, double.Parse(rw), 7) : unlabelled;   // REWRITE=p: that share of equation steps with their stated result's digits redrawn
    Console.WriteLine($"practice: {practice.Count(u => analysisOf(u).Contains('!'))} of {practice.Count} flagged");
    // SPLIT=1 (with ANALYSIS=native): the recomputed digits are the model's own writing and never a training target: each
    // analysis is taught in two parts (up to the equation's "=", then from after its digits to the end), the digits sit in
    // the second part's prompt; the verdict stage's prompt holds the analysis up to its digits too.
    var split = Environment.GetEnvironmentVariable("SPLIT") == "1" && Environment.GetEnvironmentVariable("ANALYSIS") == "native";
    (string Head, string Digits, string Tail)? SplitOf(StepWiser.ML.Judging.JudgeInput x)
    {
        var a = analysisOf(x).Trim();
        if (NativeParts(StepVerification.Analysis(x)) is not { } parts) return null;
        var at = a.IndexOf(parts.Prefix, StringComparison.Ordinal);
        if (at < 0) return null;
        var head = a[..(at + parts.Prefix.Length)];
        var digitsEnd = a.IndexOf(' ', head.Length);
        if (digitsEnd < 0) return null;
        return (head, a[head.Length..digitsEnd], a[digitsEnd..]);
    }
    StepWiser.ML.Training.SftOptions SftOf(int steps, double lr, bool eos) => new() { Steps = steps, BatchSize = recipe.BatchSize, LearningRate = lr, WarmupSteps = Math.Min(20, Math.Max(1, steps / 10)), MaxSequenceLength = recipe.MaxSequenceLength, Seed = recipe.Seed, AppendEos = eos };
    if (analysed is null && split)
    {
        var pairs = practice.Select(s => (Step: s, Analysis: analysisOf(s).Trim())).ToArray();
        pairs = StepWiser.ML.Annotation.LabelBalancer.Balance(pairs, p => p.Analysis.Contains('!'), recipe.Seed).ToArray();
        var examples = pairs.SelectMany(p =>
        {
            var prompt = template.Render(p.Step);
            return SplitOf(p.Step) is { } sp
                ? new[] { new StepWiser.ML.Training.SftExample(prompt, " " + sp.Head), new StepWiser.ML.Training.SftExample(prompt + " " + sp.Head + sp.Digits, sp.Tail) }
                : new[] { new StepWiser.ML.Training.SftExample(prompt, " " + p.Analysis) };
        }).ToArray();
        Console.WriteLine($"split analysis examples: {examples.Length} from {pairs.Length} steps");
        new StepWiser.ML.Training.SftTrainer(judgeModel, tok, SftOf(analysisSteps, recipe.PretrainLearningRate, false)).Train(examples, new Progress<TrainingProgress>(p => { if (p.Step % 200 == 0) Console.WriteLine($"  analysis {p.Step} loss {p.Loss:F3}"); }));
    }
    else if (analysed is null) StepWiser.ML.Judging.JudgeRecipe.Pretrain(judgeModel, tok, template, practice, analysisOf, recipe, new Progress<TrainingProgress>(p => { if (p.Step % 200 == 0) Console.WriteLine($"  analysis {p.Step} loss {p.Loss:F3}"); }));
    Console.WriteLine($"analysis stage done {clock.Elapsed}");
    if (Environment.GetEnvironmentVariable("SAVEANALYSIS") is { } sa && analysed is null) HuggingFaceCheckpoint.Save(judgeModel, sa);
    async Task Score(string name)
    {
        var judge = new StepWiser.ML.Judging.StepwiseJudge(new LocalTextGenerator(judgeModel, tok), template, new StepWiser.ML.Judging.StepwiseJudgeOptions { MaxNewTokens = 96 });
        var r = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(judge, dev);
        // analysis agreement with the teacher on gold steps up to the first error
        int agree = 0, total = 0; int shown = 0; int errors = 0, errorsFlagged = 0, rights = 0, rightsFlagged = 0;
        for (int i = 0; i < dev.Length; i++)
        {
            var last = dev[i].Label < 0 ? dev[i].Steps.Length - 1 : dev[i].Label;
            for (int k = 0; k <= last; k++)
            {
                var input = new StepWiser.ML.Judging.JudgeInput(dev[i].Problem, dev[i].Steps.Take(k).ToArray(), dev[i].Steps[k]);
                var target = analysisOf(input);
                var said = r.Judgments[i].Rationales[k].Trim();
                var ok = said.StartsWith(target, StringComparison.Ordinal);
                total++; if (ok) agree++;
                var judgeFlag = said.Split("\\boxed")[0].Contains('!');
                if (k == dev[i].Label) { errors++; if (judgeFlag) errorsFlagged++; } else { rights++; if (judgeFlag) rightsFlagged++; }
                if (!ok && shown < 4 && k == dev[i].Label) { shown++; Console.WriteLine($"    target: {target}\n    said:   {said}"); }
            }
        }
        Console.WriteLine($"{name}: dev F1 {r.Metrics.AverageF1:P1} balanced {r.GoldSteps.Balanced:P1} (pos {r.GoldSteps.PositiveAccuracy:P1} neg {r.GoldSteps.NegativeAccuracy:P1}) analysis = teacher {agree}/{total}; judge flags {errorsFlagged}/{errors} first errors, {rightsFlagged}/{rights} right steps {clock.Elapsed}");
    }
    if (split)
    {
        var train = StepWiser.ML.Annotation.LabelBalancer.Balance(labelled, e => e.Label, recipe.Seed);
        // The end of text written into the verdict's response (the head part has none), so one trainer serves both parts.
        var examples = train.SelectMany(e =>
        {
            var prompt = template.Render(e.Input);
            var verdict = " " + StepWiser.ML.Judging.VerdictParser.Format(e.Label) + StepWiser.ML.Tokenization.BuiltInTokenizer.EndOfText;
            return SplitOf(e.Input) is { } sp
                ? new[] { new StepWiser.ML.Training.SftExample(prompt, " " + sp.Head), new StepWiser.ML.Training.SftExample(prompt + " " + sp.Head + sp.Digits, sp.Tail + verdict) }
                : new[] { new StepWiser.ML.Training.SftExample(prompt, " " + analysisOf(e.Input).Trim() + verdict) };
        }).ToArray();
        var eot = tok.EncodeToIds(StepWiser.ML.Tokenization.BuiltInTokenizer.EndOfText);
        Console.WriteLine($"end of text encodes as {string.Join(",", eot)} (eos {judgeModel.Config.EosTokenIds[0]}); {examples.Length} verdict-stage examples");
        new StepWiser.ML.Training.SftTrainer(judgeModel, tok, SftOf(warmupSteps, recipe.WarmupLearningRate, false)).Train(examples);
    }
    else StepWiser.ML.Judging.JudgeRecipe.WarmUp(judgeModel, tok, template, labelled, analysisOf, recipe);
    if (Environment.GetEnvironmentVariable("SAVE") is { } save) HuggingFaceCheckpoint.Save(judgeModel, save);
    await Score("warm-up");
    var metrics = new StepWiser.ML.Judging.GrpoTrainer(judgeModel, tok, template, recipe.Grpo).Train(labelled);
    Console.WriteLine($"grpo reward {metrics.Take(5).Average(m => m.MeanReward):F2} -> {metrics.TakeLast(5).Average(m => m.MeanReward):F2}, zero-adv {metrics.Average(m => m.ZeroAdvantageShare):P0}, clip {metrics.Average(m => m.ClipFraction):P1}");
    await Score("RL");
}
if (cmd == "flags")
{
    var folder = args[2];
    foreach (var scheme in new[] { "absoluteq", "relativeratio", "relativeeffective" })
    {
        var sols = StepWiser.ML.Annotation.TrlStepwiseFormat.Read(folder + $"/labels-{scheme}.jsonl");
        var steps = StepWiser.ML.Judging.JudgeRecipe.SelectSteps(sols, StepWiser.ML.Judging.StepSelection.UpToFirstNegative);
        int fp = 0, fn = 0, up = 0, un = 0;
        foreach (var e in steps)
        {
            var flagged = StepVerification.Analysis(e.Input).Contains('!');
            if (flagged && e.Label) fp++; else if (flagged) fn++; else if (e.Label) up++; else un++;
        }
        Console.WriteLine($"{scheme}: flagged&MC+ {fp}, flagged&MC- {fn}, clean&MC+ {up}, clean&MC- {un}");
    }
    // gold: on the dev benchmark, flags vs gold
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").ToArray();
    int gfp = 0, gfn = 0, gup = 0, gun = 0;
    foreach (var r in dev)
    {
        var last = r.Label < 0 ? r.Steps.Length - 1 : r.Label;
        for (int k = 0; k <= last; k++)
        {
            var flagged = StepVerification.Analysis(new StepWiser.ML.Judging.JudgeInput(r.Problem, r.Steps.Take(k).ToArray(), r.Steps[k])).Contains('!');
            var good = k != r.Label;
            if (flagged && good) gfp++; else if (flagged) gfn++; else if (good) gup++; else { gun++; if (gun <= 6) Console.WriteLine($"  unflagged gold error: {r.Steps[k].Replace("\n\n", " / ")} | {r.Problem}"); }
        }
    }
    Console.WriteLine($"dev gold: flagged&right {gfp}, flagged&wrong {gfn}, clean&right {gup}, clean&wrong {gun}");
}
if (cmd == "kinds")
{
    var folder = args[2];
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").Concat(StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark.json")).ToArray();
    var counts = new Dictionary<string, int>();
    foreach (var r in dev.Where(r => r.Label >= 0))
    {
        var a = StepVerification.Analysis(new StepWiser.ML.Judging.JudgeInput(r.Problem, r.Steps.Take(r.Label).ToArray(), r.Steps[r.Label]));
        var parts = new List<string>();
        var segs = a.Split(' ');
        string section = "in";
        foreach (var t in segs)
        {
            if (t == "in" || t == "set" || t == "chk") { section = t; continue; }
            if (t.StartsWith("(")) { section = "lookup"; if (t == "(?)") parts.Add("lookup"); continue; }
            if (t == "again!") { parts.Add("again"); continue; }
            if (t.Contains('+') || t.Contains('-') || t.Contains('*')) section = section == "lookup" || section == "in" ? "arith" : section;
            if (t.EndsWith("!")) parts.Add(section);
        }
        var key = parts.Count == 0 ? "unflagged" : string.Join("+", parts.Distinct());
        counts[key] = counts.GetValueOrDefault(key) + 1;
    }
    foreach (var kv in counts.OrderByDescending(k => k.Value)) Console.WriteLine($"{kv.Key}: {kv.Value}");
}
if (cmd == "diag")
{
    // diag <difficulty> <folder> <judge folder name>[,<more>]: where the judge's analysis and verdict part from the gold, on the dev benchmark.
    var folder = args[2];
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(int.Parse(Environment.GetEnvironmentVariable("THREADS") ?? "1"));
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + (Environment.GetEnvironmentVariable("BENCH") ?? "/world-benchmark-dev.json")).ToArray();
    foreach (var name in args[3].Split(','))
    {
        using var model = HuggingFaceCheckpoint.Load(folder + "/" + name);
        var judge = new StepWiser.ML.Judging.StepwiseJudge(new LocalTextGenerator(model, tok), StepWiser.ML.Judging.JudgeTemplate.Numbered, new StepWiser.ML.Judging.StepwiseJudgeOptions { MaxNewTokens = 96 });
        var r = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(judge, dev);
        // rows: gold class (right / first error) x teacher flag x judge flag x verdict
        var table = new Dictionary<string, int>();
        int shown = 0;
        for (int i = 0; i < dev.Length; i++)
        {
            var last = dev[i].Label < 0 ? dev[i].Steps.Length - 1 : dev[i].Label;
            for (int k = 0; k <= last; k++)
            {
                var input = new StepWiser.ML.Judging.JudgeInput(dev[i].Problem, dev[i].Steps.Take(k).ToArray(), dev[i].Steps[k]);
                var target = StepVerification.Analysis(input);
                var said = r.Judgments[i].Rationales[k];
                var analysis = said.Split("\\boxed")[0];
                var key = $"{(k == dev[i].Label ? "error" : "right")} teacher{(target.Contains('!') ? "!" : "=")} judge{(analysis.Contains('!') ? "!" : "=")} {(r.Judgments[i].Verdicts[k] ? "Pos" : "Neg")}";
                table[key] = table.GetValueOrDefault(key) + 1;
                if (k == dev[i].Label && target.Contains('!') && !analysis.Contains('!') && shown++ < 5) Console.WriteLine($"  step {dev[i].Steps[k].Replace("\n\n", " / ")}\n    target {target}\n    said   {said.Replace("\n", " ")}");
            }
        }
        Console.WriteLine($"{name}: dev F1 {r.Metrics.AverageF1:P1} balanced {r.GoldSteps.Balanced:P1}");
        foreach (var kv in table.OrderBy(k => k.Key)) Console.WriteLine($"  {kv.Key}: {kv.Value}");
    }
}

// The verification analysis with each equation written one digit at a time ("3-1=2 2= 3-5=8 6!" for "33-15=28 22= 86!"):
// every recomputed digit follows the two digits it is computed from, and the step's equation never appears whole.
// The step with its first +, - or * equation cut after "=", the code's recomputed result (StepVerification.Analysis:
// from problem, history and step, no gold) and the result the step states; null when there is no such equation.
static (StepWiser.ML.Judging.JudgeInput Masked, string Right, string Stated)? MaskEquation(StepWiser.ML.Judging.JudgeInput x)
{
    var m = System.Text.RegularExpressions.Regex.Match(x.Chunk, @"(\d+)([+\-*])(\d+)=(\d+)");
    if (!m.Success) return null;
    var right = System.Text.RegularExpressions.Regex.Match(StepVerification.Analysis(x), @"=(\S+) ").Groups[1].Value;
    if (right.Length == 0 || !right.All(char.IsAsciiDigit)) return null;
    return (x with { Chunk = x.Chunk[..m.Groups[4].Index] }, right, m.Groups[4].Value);
}

static string DigitBlocks(string analysis)
{
    var m = System.Text.RegularExpressions.Regex.Match(analysis, @"(\d+)([+\-*])(\d+)=([\d?]+)((?: [\d?_][\d?_][=!])+)");
    if (!m.Success) return analysis;
    string x = m.Groups[1].Value, y = m.Groups[3].Value; var op = m.Groups[2].Value[0];
    var pairs = m.Groups[5].Value.Trim().Split(' ');
    char At(string t, int j) => j < t.Length ? t[j] : '_';
    var sep = Environment.GetEnvironmentVariable("DIGITSEP") ?? "=";
    var blocks = pairs.Select((p, j) => $"{At(x, j)}{op}{(op == '*' ? y : At(y, j).ToString())}{sep}{p[0]} {p[1]}{p[2]}");
    return analysis[..m.Index] + string.Join(" ", blocks) + analysis[(m.Index + m.Length)..];
}
if (cmd == "digits")
{
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(args[2] + "/world-benchmark-dev.json").ToArray();
    foreach (var r in dev.Take(6))
        for (int k = 0; k < r.Steps.Length; k++)
        {
            var a = StepVerification.Analysis(new StepWiser.ML.Judging.JudgeInput(r.Problem, r.Steps.Take(k).ToArray(), r.Steps[k]));
            Console.WriteLine($"{r.Steps[k].Replace("\n\n", " / ")}  ->  {a}  ->  {DigitBlocks(a)}");
        }
}

// The steps with an equation, a share of them with the stated result's digits redrawn (at least one changed), so that
// copying the step's digits is wrong as often as right.
static IReadOnlyList<StepWiser.ML.Judging.JudgeInput> Rewrite(IReadOnlyList<StepWiser.ML.Judging.JudgeInput> inputs, double share, int seed)
{
    var random = new Random(seed);
    return inputs.Select(x =>
    {
        var m = System.Text.RegularExpressions.Regex.Match(x.Chunk, @"(\d+[+\-*/]\d+=)(\d+)");
        if (!m.Success || random.NextDouble() >= share) return x;
        var digits = m.Groups[2].Value.ToCharArray();
        var changed = false;
        while (!changed)
            for (int j = 0; j < digits.Length; j++)
                if (random.NextDouble() < 0.5) { var d = (char)('0' + random.Next(10)); changed |= d != digits[j]; digits[j] = d; }
        var chunk = x.Chunk[..m.Groups[2].Index] + new string(digits) + x.Chunk[(m.Groups[2].Index + m.Groups[2].Length)..];
        return x with { Chunk = chunk };
    }).ToArray();
}
if (cmd == "copy")
{
    // copy <difficulty> <folder> <judge dir>: at the dev benchmark's flagged first errors, does the judge's recomputed digit follow the step's stated digit?
    var folder = args[2];
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(1);
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").Concat(StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark.json")).ToArray();
    Func<StepWiser.ML.Judging.JudgeInput, string> analysisOf = Environment.GetEnvironmentVariable("ANALYSIS") == "digits" ? x => DigitBlocks(StepVerification.Analysis(x)) : StepVerification.Analysis;
    using var model = HuggingFaceCheckpoint.Load(args[3]);
    var judge = new StepWiser.ML.Judging.StepwiseJudge(new LocalTextGenerator(model, tok), Environment.GetEnvironmentVariable("TEMPLATE") == "spaced" ? Spaced : StepWiser.ML.Judging.JudgeTemplate.Numbered, new StepWiser.ML.Judging.StepwiseJudgeOptions { MaxNewTokens = 160 });
    var random = new Random(5);
    var inputs = new List<(StepWiser.ML.Judging.JudgeInput Input, string Kind)>();
    foreach (var r in dev.Where(r => r.Label >= 0))
    {
        var x = new StepWiser.ML.Judging.JudgeInput(r.Problem, r.Steps.Take(r.Label).ToArray(), r.Steps[r.Label]);
        if (!System.Text.RegularExpressions.Regex.IsMatch(x.Chunk, @"\d+[+\-*]\d+=\d+")) continue;
        inputs.Add((x, "error"));
        var ok = analysisOf(x);
        // the same step with its result set right (the teacher's recomputed digits), and with random digits
        var m = System.Text.RegularExpressions.Regex.Match(x.Chunk, @"(\d+)([+\-*])(\d+)=(\d+)");
        var right = System.Text.RegularExpressions.Regex.Match(StepVerification.Analysis(x), @"=(\S+) ").Groups[1].Value;
        if (right.Length == m.Groups[4].Length && right.All(char.IsAsciiDigit)) inputs.Add((x with { Chunk = x.Chunk[..m.Groups[4].Index] + right + x.Chunk[(m.Groups[4].Index + m.Groups[4].Length)..] }, "fixed"));
        var rnd = new string(m.Groups[4].Value.Select(_ => (char)('0' + random.Next(10))).ToArray());
        inputs.Add((x with { Chunk = x.Chunk[..m.Groups[4].Index] + rnd + x.Chunk[(m.Groups[4].Index + m.Groups[4].Length)..] }, "random"));
    }
    var verdicts = await judge.JudgeStepsAsync(inputs.Select(i => i.Input).ToArray());
    foreach (var kind in new[] { "error", "fixed", "random" })
    {
        int n = 0, agree = 0, flagOk = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Kind != kind) continue;
            n++;
            var target = analysisOf(inputs[i].Input);
            var said = verdicts[i].Rationale.Split("\\boxed")[0].Trim();
            if (said == target) agree++;
            if (said.Contains('!') == target.Contains('!')) flagOk++;
            if (kind == "random" && n <= 4) Console.WriteLine($"  {inputs[i].Input.Chunk.Replace("\n\n", " / ")}\n    target {target}\n    said   {said}");
        }
        Console.WriteLine($"{kind}: {n} steps, analysis = teacher {agree}, flag right {flagOk}");
    }
}
if (cmd == "native")
{
    // native <difficulty> <folder> [model dir]: the policy (or a judge) continuing its own solution up to "<input><op><operand>=" at each benchmark first error: does it write the right digits greedily?
    var folder = args[2];
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(1);
    using var model = HuggingFaceCheckpoint.Load(args.Length > 3 ? args[3] : folder + "/policy");
    var gen = new LocalTextGenerator(model, tok);
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").Concat(StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark.json")).ToArray();
    var items = new List<(string Prefix, string Right, string Stated, bool Error)>();
    foreach (var r in dev)
    {
        var last = r.Label < 0 ? r.Steps.Length - 1 : r.Label;
        for (int k = 0; k <= last; k++)
        {
            var x = new StepWiser.ML.Judging.JudgeInput(r.Problem, r.Steps.Take(k).ToArray(), r.Steps[k]);
            var m = System.Text.RegularExpressions.Regex.Match(x.Chunk, @"(\d+)([+\-*])(\d+)=(\d+)");
            if (!m.Success) continue;
            var right = System.Text.RegularExpressions.Regex.Match(StepVerification.Analysis(x), @"=(\S+) ").Groups[1].Value;
            var prefix = WorldJudging.PolicyPrefix(x);
            if (Environment.GetEnvironmentVariable("CHUNKFIRST") is { } cf) prefix = cf.Replace("STEP", StepWiser.ML.Judging.JudgeTemplate.OneLine(x.Chunk)).Replace("\\n", "\n") + prefix;
            // the step up to its equation's "=" as the policy would have written it
            var partial = x.Chunk[..(m.Groups[4].Index)];
            items.Add((prefix, right, m.Groups[4].Value, k == r.Label));
            items[^1] = items[^1] with { Prefix = prefix + StepWiser.ML.Chunking.ChunkParser.OpenTag + partial };
        }
    }
    Console.WriteLine("sample prefix: " + items[0].Prefix.Replace("\n", "\\n"));
    var outs = await gen.GenerateAsync(items.Select(i => GenerationRequest.FromText(i.Prefix, new SamplingOptions { NumSamples = 1, MaxNewTokens = 3, Temperature = 0, Seed = 1 })).ToArray());
    foreach (var err in new[] { false, true })
    {
        int n = 0, right = 0, stated = 0;
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i].Error != err) continue;
            n++;
            var said = new string(outs[i].Samples[0].Text.TakeWhile(char.IsAsciiDigit).ToArray());
            if (said == items[i].Right) right++;
            if (said == items[i].Stated) stated++;
        }
        Console.WriteLine($"{(err ? "first errors" : "right steps")}: {n}, greedy = right result {right}, = stated result {stated}");
    }
}

static string NativeKey(string rendered, string equationPrefix) => rendered + "\u0001" + equationPrefix;

// "again! 33*3=99 99= 99= chk …" → ("Multiply by 3.\n\n33*3=", the compared digits, the tail)
static (string Prefix, string Compared, string Tail, bool Again)? NativeParts(string analysis)
{
    var m = System.Text.RegularExpressions.Regex.Match(analysis, @"^(again! )?(\d+)([+\-*])(\d+)=(\S+)((?: [\d?_][\d?_][=!])+)(.*)$");
    if (!m.Success) return null;
    var op = m.Groups[3].Value[0]; var b = m.Groups[4].Value;
    var instruction = op switch { '+' => $"Add {b}.", '-' => $"Subtract {b}.", _ => $"Multiply by {b}." };
    var compared = new string(m.Groups[6].Value.Trim().Split(' ').Select(p => p[1]).ToArray());
    return (instruction + "\n\n" + m.Groups[2].Value + op + b + "=", compared, m.Groups[7].Value, m.Groups[1].Success);
}

static string NativeAnalysis(StepWiser.ML.Judging.JudgeInput input, StepWiser.ML.Judging.JudgeTemplate template, Dictionary<string, string> selfDigits)
{
    var a = StepVerification.Analysis(input);
    // MARK=c: every "=" of the analysis but the equation's own written as c, so that "=" is followed by digits only
    var mark = Environment.GetEnvironmentVariable("MARK");
    if (NativeParts(a) is not { } parts) return mark is null ? a : a.Replace("=", mark);
    var digits = selfDigits[NativeKey(template.Render(input), parts.Prefix)];
    char At(string t, int j) => j < t.Length ? t[j] : '_';
    var pairs = string.Join(' ', Enumerable.Range(0, Math.Max(digits.Length, parts.Compared.Length)).Select(j => $"{At(digits, j)}{At(parts.Compared, j)}{(At(digits, j) == At(parts.Compared, j) && At(digits, j) != '?' ? '=' : '!')}"));
    var again = Environment.GetEnvironmentVariable("AGAIN") ?? "end";
    var rest = " " + pairs + (again == "end" && parts.Again ? " again!" : again == "always" ? (parts.Again ? " again!" : " again=") : "") + parts.Tail;
    return (again == "start" && parts.Again ? "again! " : "") + parts.Prefix + digits + (mark is null ? rest : rest.Replace("=", mark));
}

static async Task<Dictionary<string, string>> SelfDigitsAsync(ITextGenerator policy, StepWiser.ML.Judging.JudgeTemplate template, IReadOnlyList<StepWiser.ML.Judging.JudgeInput> inputs)
{
    var wanted = new Dictionary<string, int>();
    foreach (var x in inputs)
        if (NativeParts(StepVerification.Analysis(x)) is { } p) wanted[NativeKey(template.Render(x), p.Prefix)] = p.Compared.Length;
    var keys = wanted.Keys.ToArray();
    var outs = await policy.GenerateAsync(keys.Select(k => GenerationRequest.FromText(k.Replace("\u0001", ""), new SamplingOptions { NumSamples = 1, MaxNewTokens = 3, Temperature = 0, Seed = 1 })).ToArray());
    var result = new Dictionary<string, string>();
    for (int i = 0; i < keys.Length; i++)
    {
        var d = new string(outs[i].Samples[0].Text.TakeWhile(char.IsAsciiDigit).Take(wanted[keys[i]]).ToArray());
        result[keys[i]] = d.PadRight(wanted[keys[i]], '?');
    }
    return result;
}
if (cmd == "nativeflags")
{
    var folder = args[2];
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(1);
    using var policyModel = HuggingFaceCheckpoint.Load(folder + "/policy");
    var policy = new LocalTextGenerator(policyModel, tok);
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").ToArray();
    var inputs = new List<(StepWiser.ML.Judging.JudgeInput X, bool Error)>();
    foreach (var r in dev) { var last = r.Label < 0 ? r.Steps.Length - 1 : r.Label; for (int k = 0; k <= last; k++) inputs.Add((new StepWiser.ML.Judging.JudgeInput(r.Problem, r.Steps.Take(k).ToArray(), r.Steps[k]), k == r.Label)); }
    var self = await SelfDigitsAsync(policy, Native, inputs.Select(i => i.X).ToArray());
    int ef = 0, e = 0, rf = 0, rr = 0, of = 0;
    foreach (var (x, err) in inputs)
    {
        var a = NativeAnalysis(x, Native, self); var old = StepVerification.Analysis(x);
        if (err) { e++; if (a.Contains('!')) ef++; if (old.Contains('!')) of++; } else { rr++; if (a.Contains('!')) { rf++; if (rf <= 8) Console.WriteLine($"  right step flagged: {x.Chunk.Replace("\n\n", " / ")} -> {a.Replace("\n", "|")}   (code: {old})"); } }
    }
    Console.WriteLine($"self-digit analysis flags {ef}/{e} first errors (code recompute: {of}), {rf}/{rr} right steps");
}
if (cmd == "nativediag")
{
    var folder = args[2];
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(1);
    using var policyModel = HuggingFaceCheckpoint.Load(folder + "/policy");
    var policy = new LocalTextGenerator(policyModel, tok);
    using var judgeModel = HuggingFaceCheckpoint.Load(args[3]);
    var judge = new StepWiser.ML.Judging.StepwiseJudge(new LocalTextGenerator(judgeModel, tok), Native, new StepWiser.ML.Judging.StepwiseJudgeOptions { MaxNewTokens = 96 });
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").ToArray();
    var inputs = new List<(StepWiser.ML.Judging.JudgeInput X, bool Error)>();
    foreach (var r in dev) { var last = r.Label < 0 ? r.Steps.Length - 1 : r.Label; for (int k = 0; k <= last; k++) inputs.Add((new StepWiser.ML.Judging.JudgeInput(r.Problem, r.Steps.Take(k).ToArray(), r.Steps[k]), k == r.Label)); }
    var self = await SelfDigitsAsync(policy, Native, inputs.Select(i => i.X).ToArray());
    var verdicts = await judge.JudgeStepsAsync(inputs.Select(i => i.X).ToArray());
    var table = new Dictionary<string, int>(); int shown = 0;
    for (int i = 0; i < inputs.Count; i++)
    {
        var target = NativeAnalysis(inputs[i].X, Native, self);
        var said = verdicts[i].Rationale.Split("\\boxed")[0].Trim();
        var key = $"{(inputs[i].Error ? "error" : "right")} teacher{(target.Contains('!') ? "!" : "=")} judge{(said.Contains('!') ? "!" : "=")} {(verdicts[i].Positive ? "Pos" : "Neg")}";
        table[key] = table.GetValueOrDefault(key) + 1;
        if (!inputs[i].Error && !target.Contains('!') && said.Contains('!') && shown++ < 8) Console.WriteLine($"  {inputs[i].X.Chunk.Replace("\n\n", " / ")}\n    target {target.Replace("\n", "|")}\n    said   {said.Replace("\n", "|")}");
    }
    foreach (var kv in table.OrderBy(k => k.Key)) Console.WriteLine($"  {kv.Key}: {kv.Value}");
}
if (cmd == "twophase")
{
    // twophase <difficulty> <folder> [verdict updates]: a two-phase judge from the policy's weights. Phase 1, the policy's
    // own context (problem and history as its prompt, the new step cut after its equation's "="): the model writes the
    // result itself, untrained. Phase 2: the same text, the model's result, the step's stated result, and a verdict
    // taught on the Monte-Carlo labels (balanced, 150 updates of 32 at 1e-3 as the main job's verdict stage). Scored on
    // the dev benchmark; "compare" is phase 1 with the verdict "stated = own result" (no training, no label).
    var folder = args[2];
    int updates = args.Length > 3 ? int.Parse(args[3]) : 150;
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(int.Parse(Environment.GetEnvironmentVariable("THREADS") ?? "1"));
    using var model = HuggingFaceCheckpoint.Load(folder + "/policy");
    var gen = new LocalTextGenerator(model, tok);
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").ToArray();
    var compare = new TwoPhaseJudge(gen, compareOnly: true);
    var r0 = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(compare, dev);
    Console.WriteLine($"compare (untrained): dev F1 {r0.Metrics.AverageF1:P1} balanced {r0.GoldSteps.Balanced:P1} (pos {r0.GoldSteps.PositiveAccuracy:P1} neg {r0.GoldSteps.NegativeAccuracy:P1})");
    var solutions = StepWiser.ML.Annotation.TrlStepwiseFormat.Read(folder + "/labels-" + (Environment.GetEnvironmentVariable("SCHEME") ?? "absoluteq") + ".jsonl");
    var labelled = StepWiser.ML.Judging.JudgeRecipe.SelectSteps(solutions, StepWiser.ML.Judging.StepSelection.UpToFirstNegative);
    var train = StepWiser.ML.Annotation.LabelBalancer.Balance(labelled, e => e.Label, 1);
    var judge = new TwoPhaseJudge(gen, compareOnly: false);
    var prompts = await judge.VerdictPromptsAsync(train.Select(e => e.Input).ToArray());
    // PAIRS=1: before the verdict the judge writes its own result and the stated one digit by digit, each pair marked
    // "=" or "!" (computed from its phase-1 result and the step's text: no gold).
    var pairs = Environment.GetEnvironmentVariable("PAIRS") == "1";
    var owns = await judge.OwnResultsAsync(train.Select(e => e.Input).ToArray());
    var examples = train.Select((e, i) => new StepWiser.ML.Training.SftExample(prompts[i], " " + (pairs && owns[i] is { } o ? StepWiser.ML.Judging.ResultFirstTemplate.Pairs(o.Own, o.Stated) + " " : "") + StepWiser.ML.Judging.VerdictParser.Format(e.Label))).ToArray();
    Console.WriteLine($"{examples.Length} verdict examples, e.g. {examples[0].Prompt[^80..].Replace("\n", "|")} ->{examples[0].Response}");
    if (Environment.GetEnvironmentVariable("REPLAY") is { } replay)
    {
        // Self-replay: the policy's own greedy solutions (written before any judge training) mixed in, so that the verdict
        // stage keeps the arithmetic phase 1 relies on without teaching the model anything the policy did not write.
        var problems = world.Generate("judge-replay", (int)(examples.Length * double.Parse(replay)), 1);
        var own = await gen.GenerateAsync(problems.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { NumSamples = 1, MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = 0, Seed = 1 })).ToArray());
        examples = examples.Concat(problems.Select((p, i) => new StepWiser.ML.Training.SftExample(p.Prompt, own[i].Samples[0].Text))).ToArray();
        Console.WriteLine($"{problems.Count} replayed own solutions; {examples.Length} examples");
    }
    new StepWiser.ML.Training.SftTrainer(model, tok, new StepWiser.ML.Training.SftOptions { Steps = updates, BatchSize = 32, LearningRate = double.Parse(Environment.GetEnvironmentVariable("LR") ?? "1e-3"), WarmupSteps = 15, MaxSequenceLength = 1024, Seed = 1, AppendEos = true }).Train(examples);
    var r1 = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(judge, dev);
    Console.WriteLine($"two-phase (trained): dev F1 {r1.Metrics.AverageF1:P1} balanced {r1.GoldSteps.Balanced:P1} (pos {r1.GoldSteps.PositiveAccuracy:P1} neg {r1.GoldSteps.NegativeAccuracy:P1}); unparseable {r1.Judgments.Sum(j => j.Unparseable)}");
    var r2 = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(compare, dev);
    Console.WriteLine($"compare with the trained model's own results: dev F1 {r2.Metrics.AverageF1:P1} balanced {r2.GoldSteps.Balanced:P1}");
}
if (cmd == "maskedjudge")
{
    // maskedjudge <difficulty> <folder> <masked model dir> [verdict updates]: a two-turn judge from a `masked` analysis
    // stage. Turn 1: the judge prompt with the step cut after its equation's "="; the judge writes the result. Turn 2: the
    // stated result is shown; the judge writes its result and the stated one digit by digit ("=" or "!") and its verdict,
    // taught on the Monte-Carlo labels (balanced, as the main job's verdict stage). Steps without an equation: the whole
    // step, then the verdict. Dev benchmark; "compare" = the verdict "own result = stated" (no verdict training).
    var folder = args[2];
    int updates = args.Length > 4 ? int.Parse(args[4]) : 150;
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(int.Parse(Environment.GetEnvironmentVariable("THREADS") ?? "1"));
    using var model = HuggingFaceCheckpoint.Load(args[3]);
    var gen = new LocalTextGenerator(model, tok);
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").ToArray();
    var compare = new MaskedJudge(gen, compareOnly: true);
    var r0 = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(compare, dev);
    Console.WriteLine($"compare (before the verdict stage): dev F1 {r0.Metrics.AverageF1:P1} balanced {r0.GoldSteps.Balanced:P1} (pos {r0.GoldSteps.PositiveAccuracy:P1} neg {r0.GoldSteps.NegativeAccuracy:P1})");
    var solutions = StepWiser.ML.Annotation.TrlStepwiseFormat.Read(folder + "/labels-" + (Environment.GetEnvironmentVariable("SCHEME") ?? "absoluteq") + ".jsonl");
    var labelled = StepWiser.ML.Judging.JudgeRecipe.SelectSteps(solutions, StepWiser.ML.Judging.StepSelection.UpToFirstNegative);
    var train = StepWiser.ML.Annotation.LabelBalancer.Balance(labelled, e => e.Label, 1);
    var judge = new MaskedJudge(gen, compareOnly: false);
    var turns = await judge.TurnTwoAsync(train.Select(e => e.Input).ToArray());
    // PAIRSINPROMPT=1: the digit pairs are part of turn 2's prompt (a comparison computed from the judge's own result and
    // the step's text, like a tool's answer); the judge writes only its verdict.
    var pairsInPrompt = Environment.GetEnvironmentVariable("PAIRSINPROMPT") == "1";
    var examples = train.Select((e, i) => new StepWiser.ML.Training.SftExample(turns[i].Prompt, " " + (!pairsInPrompt && turns[i].Own is { } o ? StepWiser.ML.Judging.ResultFirstTemplate.Pairs(o, turns[i].Stated!) + " " : "") + StepWiser.ML.Judging.VerdictParser.Format(e.Label))).ToArray();
    Console.WriteLine($"{examples.Length} verdict examples, e.g. ...{examples[0].Prompt[^60..].Replace("\n", "|")} ->{examples[0].Response}");
    if (Environment.GetEnvironmentVariable("KEEP") == "1")
    {
        // Turn 1 taught on in the same batches (the code's recomputed result of each training step's visible equation).
        var eqre = new System.Text.RegularExpressions.Regex(@"(\d+)([+\-*])(\d+)=(\d+)");
        var keep = train.Select(e => e.Input).Select(x =>
        {
            var m = eqre.Match(x.Chunk);
            var right = m.Success ? System.Text.RegularExpressions.Regex.Match(StepVerification.Analysis(x), @"=(\S+) ").Groups[1].Value : "";
            return m.Success && right.Length > 0 && right.All(char.IsAsciiDigit) ? new StepWiser.ML.Training.SftExample(StepWiser.ML.Judging.JudgeTemplate.Numbered.Render(x with { Chunk = x.Chunk[..m.Groups[4].Index] }), right) : null;
        }).OfType<StepWiser.ML.Training.SftExample>().ToArray();
        examples = examples.Concat(keep).ToArray();
        Console.WriteLine($"{keep.Length} turn-1 examples kept in the verdict stage");
    }
    new StepWiser.ML.Training.SftTrainer(model, tok, new StepWiser.ML.Training.SftOptions { Steps = updates, BatchSize = 32, LearningRate = double.Parse(Environment.GetEnvironmentVariable("LR") ?? "1e-3"), WarmupSteps = 15, MaxSequenceLength = 1024, Seed = 1, AppendEos = true }).Train(examples);
    var r1 = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(judge, dev);
    Console.WriteLine($"two-turn judge (trained): dev F1 {r1.Metrics.AverageF1:P1} balanced {r1.GoldSteps.Balanced:P1} (pos {r1.GoldSteps.PositiveAccuracy:P1} neg {r1.GoldSteps.NegativeAccuracy:P1}); unparseable {r1.Judgments.Sum(j => j.Unparseable)}");
    for (int i = 0, shown = 0; i < dev.Length && shown < 4; i++)
        if (dev[i].Label >= 0) { shown++; Console.WriteLine($"  {dev[i].Steps[dev[i].Label].Replace("\n\n", " / ")} -> {r1.Judgments[i].Rationales[dev[i].Label]}"); }
    var r2 = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(compare, dev);
    Console.WriteLine($"compare (after): dev F1 {r2.Metrics.AverageF1:P1} balanced {r2.GoldSteps.Balanced:P1}");
}
if (cmd == "agree")
{
    // agree <difficulty> <folder>: how often each scheme's Monte-Carlo labels agree with the code's analysis flag ("!"
    // anywhere in StepVerification.Analysis) on the steps the verdict stage trains on (up to each solution's first negative).
    var folder = args[2];
    foreach (var scheme in new[] { "absoluteq", "relativeratio", "relativeeffective" })
    {
        var solutions = StepWiser.ML.Annotation.TrlStepwiseFormat.Read(folder + "/labels-" + scheme + ".jsonl");
        foreach (var sel in new[] { StepWiser.ML.Judging.StepSelection.UpToFirstNegative, StepWiser.ML.Judging.StepSelection.AllSteps })
        {
            var labelled = StepWiser.ML.Judging.JudgeRecipe.SelectSteps(solutions, sel);
            var t = new int[2, 2];
            foreach (var e in labelled) t[e.Label ? 1 : 0, StepVerification.Analysis(e.Input).Contains('!') ? 1 : 0]++;
            Console.WriteLine($"{scheme} {sel}: label+ flag= {t[1, 0]}  label+ flag! {t[1, 1]}  label- flag= {t[0, 0]}  label- flag! {t[0, 1]}");
        }
    }
}
if (cmd == "joint")
{
    // joint <difficulty> <folder> [updates]: the two-turn judge trained in one stage from the policy's weights. Turn 1
    // (the judge prompt with the step cut after its equation's "="; target: the code's recomputed result, no gold) on the
    // unlabelled steps, mixed with turn 2 on the Monte-Carlo-labelled steps up to each solution's first negative: the
    // prompt holds turn 1 with the code's result, then "Stated: r"; the target is the digit pairs and the verdict from
    // the label (negatives repeated to balance the classes). Scored on the dev benchmark with the judge's own turn 1.
    var folder = args[2];
    int updates = args.Length > 3 ? int.Parse(args[3]) : 3000;
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(int.Parse(Environment.GetEnvironmentVariable("THREADS") ?? "1"));
    using var model = HuggingFaceCheckpoint.Load(folder + "/policy");
    var gen = new LocalTextGenerator(model, tok);
    var template = StepWiser.ML.Judging.JudgeTemplate.Numbered;
    (string Turn1, string Right, string Stated)? Mask(StepWiser.ML.Judging.JudgeInput x) =>
        MaskEquation(x) is { } t ? (template.Render(t.Masked), t.Right, t.Stated) : null;
    var unlabelled = await WorldJudging.UnlabelledStepsAsync(gen, world, 1200, default, 1.3f);
    var turn1 = unlabelled.Select(Mask).OfType<(string Turn1, string Right, string Stated)>().Select(t => new StepWiser.ML.Training.SftExample(t.Turn1, t.Right)).ToArray();
    var solutions = StepWiser.ML.Annotation.TrlStepwiseFormat.Read(folder + "/labels-" + (Environment.GetEnvironmentVariable("SCHEME") ?? "absoluteq") + ".jsonl");
    var labelled = StepWiser.ML.Judging.JudgeRecipe.SelectSteps(solutions, StepWiser.ML.Judging.StepSelection.UpToFirstNegative);
    var pos = labelled.Count(e => e.Label); var neg = labelled.Count - pos;
    int repeatNeg = Environment.GetEnvironmentVariable("NEGREP") is { } nr ? int.Parse(nr) : Math.Max(1, (int)Math.Round((double)pos / Math.Max(1, neg)));   // NEGREP=1: the labels as they come
    var summary = Environment.GetEnvironmentVariable("SUMMARY") == "1";   // SUMMARY=1: "same"/"differs" after the pairs
    var turn2 = new List<StepWiser.ML.Training.SftExample>();
    foreach (var e in labelled)
    {
        var verdict = StepWiser.ML.Judging.VerdictParser.Format(e.Label);
        var ex = Mask(e.Input) is { } t
            ? new StepWiser.ML.Training.SftExample(t.Turn1 + t.Right + "\nStated: " + t.Stated + "\nCheck:", " " + (summary ? StepWiser.ML.Judging.ResultFirstTemplate.Comparison(t.Right, t.Stated) : StepWiser.ML.Judging.ResultFirstTemplate.Pairs(t.Right, t.Stated)) + " " + verdict)
            : new StepWiser.ML.Training.SftExample(template.Render(e.Input) + "\nCheck:", " " + verdict);
        for (int r = 0; r < (e.Label ? 1 : repeatNeg); r++) turn2.Add(ex);
    }
    int turn2Repeat = int.Parse(Environment.GetEnvironmentVariable("T2REP") ?? "2");
    var examples = turn1.Concat(Enumerable.Repeat(turn2, turn2Repeat).SelectMany(x => x)).ToArray();
    Console.WriteLine($"{turn1.Length} turn-1 examples; {turn2.Count} turn-2 ({pos} positive, {neg} negative x{repeatNeg}) x{turn2Repeat}; e.g. ...{turn2[0].Prompt[^50..].Replace("\n", "|")} ->{turn2[0].Response}");
    new StepWiser.ML.Training.SftTrainer(model, tok, new StepWiser.ML.Training.SftOptions { Steps = updates, BatchSize = 32, LearningRate = double.Parse(Environment.GetEnvironmentVariable("LR") ?? "3e-3"), WarmupSteps = 20, MaxSequenceLength = 1024, Seed = 1, AppendEos = true })
        .Train(examples, new Progress<TrainingProgress>(p => { if (p.Step % 250 == 0) Console.WriteLine($"  {p.Step} loss {p.Loss:F3}"); }));
    if (Environment.GetEnvironmentVariable("SAVE") is { } savedTo) HuggingFaceCheckpoint.Save(model, savedTo);
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").ToArray();
    var judge = new MaskedJudge(gen, compareOnly: false);
    var r1 = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(judge, dev);
    Console.WriteLine($"two-turn judge (joint): dev F1 {r1.Metrics.AverageF1:P1} balanced {r1.GoldSteps.Balanced:P1} (pos {r1.GoldSteps.PositiveAccuracy:P1} neg {r1.GoldSteps.NegativeAccuracy:P1}); unparseable {r1.Judgments.Sum(j => j.Unparseable)}");
    for (int i = 0, shown = 0; i < dev.Length && shown < 6; i++)
        if (dev[i].Label >= 0) { shown++; Console.WriteLine($"  {dev[i].Steps[dev[i].Label].Replace("\n\n", " / ")} -> {r1.Judgments[i].Rationales[dev[i].Label]}"); }
    var r2 = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(new MaskedJudge(gen, compareOnly: true), dev);
    Console.WriteLine($"compare (its own results): dev F1 {r2.Metrics.AverageF1:P1} balanced {r2.GoldSteps.Balanced:P1}");
}
if (cmd == "resultfirst")
{
    // resultfirst <difficulty> <folder>: the library's ResultFirstJudge (StepVerification.ResultFirst: equation, check,
    // set and answer lines) in the recipe's three stages. Pretrain (PRE updates at PLR, default 3e-3, no label):
    // ResultFirstTemplate.AnalysisExamples with StepVerification.ResultWork on the unlabelled steps. Warm-up (WARM
    // updates at WLR): VerdictExamples on the Monte-Carlo-labelled steps up to each first negative (NEGREP: negatives
    // repeated; default 1, the labels as they come), as many turn-1 examples kept (KEEPN: how many; KEEP=0: none). GRPO (GRPO steps at GLR) on turn
    // 2 with the judge's own results. Dev benchmark after each stage; TEST=1 also scores the test benchmark at the end.
    var folder = args[2];
    int seed = int.Parse(Environment.GetEnvironmentVariable("SEED") ?? "1");   // SEED: the training seed of every stage
    int pre = int.Parse(Environment.GetEnvironmentVariable("PRE") ?? "3000"), warmUpdates = int.Parse(Environment.GetEnvironmentVariable("WARM") ?? "300");
    int grpoSteps = int.Parse(Environment.GetEnvironmentVariable("GRPO") ?? "30");
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(int.Parse(Environment.GetEnvironmentVariable("THREADS") ?? "1"));
    var loadFrom = Environment.GetEnvironmentVariable("LOAD");
    using var model = HuggingFaceCheckpoint.Load(loadFrom ?? folder + "/policy");
    var gen = new LocalTextGenerator(model, tok);
    var native = Environment.GetEnvironmentVariable("NATIVE") == "1";   // NATIVE=1: turn 1 in the policy's own text, its line the untrained policy's own
    var rf = native ? StepVerification.ResultFirstInPolicyContext : StepVerification.ResultFirst;
    // GENERIC=1 (with NATIVE=1): the library's generic claim locator (the number after the last "=", "->" or in \boxed{})
    // instead of the world's: no rule of the world anywhere in the judge's training.
    if (native && Environment.GetEnvironmentVariable("GENERIC") == "1") rf = StepVerification.WorldIndependentResultFirst;
    var judgeOptions = new StepWiser.ML.Judging.StepwiseJudgeOptions { MaxNewTokens = 40 };
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").ToArray();
    async Task Score(string what, StepWiser.ML.Judging.IStepJudge j, IReadOnlyList<StepWiser.ML.Evaluation.ProcessBenchRecord> bench, string name = "dev")
    {
        var r = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(j, bench);
        Console.WriteLine($"{what}: {name} F1 {r.Metrics.AverageF1:P1} balanced {r.GoldSteps.Balanced:P1} (pos {r.GoldSteps.PositiveAccuracy:P1} neg {r.GoldSteps.NegativeAccuracy:P1}); unparseable {r.Judgments.Sum(x => x.Unparseable)}");
    }
    var compare = new CompareOwn(gen, rf);
    // WORK=0: turn 1 is the result alone (StepVerification.ExpectedClaim); default the digit-by-digit working (ResultWork).
    Func<StepWiser.ML.Judging.JudgeInput, string?> Work = Environment.GetEnvironmentVariable("WORK") == "0" ? StepVerification.ExpectedClaim : StepVerification.ResultWork;
    var selfLines = new Dictionary<string, string>();
    // The unlabelled steps are the policy's samples (as the main job's), also when the judge is loaded from LOAD.
    using var policyModel = loadFrom is null ? null : HuggingFaceCheckpoint.Load(folder + "/policy");
    var unlabelled = await WorldJudging.UnlabelledStepsAsync(policyModel is null ? gen : new LocalTextGenerator(policyModel, tok), world, 1200, default, 1.3f);
    var solutions = StepWiser.ML.Annotation.TrlStepwiseFormat.Read(folder + "/labels-" + (Environment.GetEnvironmentVariable("SCHEME") ?? "absoluteq") + ".jsonl");
    var labelled = StepWiser.ML.Judging.JudgeRecipe.SelectSteps(solutions, StepWiser.ML.Judging.StepSelection.UpToFirstNegative);
    if (native)
    {
        // Self-distillation: turn 1's target is the untrained policy's own greedy line (the policy's weights, before any judge training).
        var all = unlabelled.Concat(labelled.Select(e => e.Input)).ToArray();
        var (lines, _) = await rf.WithOwnResultsAsync(policyModel is null ? gen : new LocalTextGenerator(policyModel, tok), all);
        for (int q = 0; q < all.Length; q++) if (rf.TurnOne(all[q]) is { } key && lines[q].Reference is { Length: > 0 } l) selfLines[key] = l;
        Work = x => rf.TurnOne(x) is { } key && selfLines.TryGetValue(key, out var l) ? l : null;
        Console.WriteLine($"self-distilled turn-1 lines: {selfLines.Count}; e.g. {selfLines.First().Key[^30..].Replace("\n", "|")} -> {selfLines.First().Value}");
    }
    var turn1 = unlabelled.Where(x => rf.TurnOne(x) is not null && Work(x) is not null).Select(x => new StepWiser.ML.Training.SftExample(rf.TurnOne(x)!, Work(x)!)).ToArray();
    if (loadFrom is null)
    {
        var analysis = rf.AnalysisExamples(unlabelled, Work);
        Console.WriteLine($"pretrain: {analysis.Count} examples of {unlabelled.Count} steps; e.g. ...{analysis[^1].Prompt[^40..].Replace("\n", "|")} ->{analysis[^1].Response}");
        new StepWiser.ML.Training.SftTrainer(model, tok, new StepWiser.ML.Training.SftOptions { Steps = pre, BatchSize = 32, LearningRate = double.Parse(Environment.GetEnvironmentVariable("PLR") ?? "3e-3"), WarmupSteps = 20, MaxSequenceLength = 1024, Seed = seed, AppendEos = true })
            .Train(analysis, new Progress<TrainingProgress>(p => { if (p.Step % 500 == 0) Console.WriteLine($"  {p.Step} loss {p.Loss:F3}"); }));
        if (Environment.GetEnvironmentVariable("SAVE") is { } savedTo) HuggingFaceCheckpoint.Save(model, savedTo);
    }
    await Score("compare (own result = stated; a rule)", compare, dev);
    int negRep = int.Parse(Environment.GetEnvironmentVariable("NEGREP") ?? "1");
    var verdictExamples = rf.VerdictExamples(labelled.SelectMany(e => Enumerable.Repeat(e, e.Label ? 1 : negRep)), Work);
    Console.WriteLine($"warm-up: {verdictExamples.Count} verdict examples ({labelled.Count(e => !e.Label)} negative) + {turn1.Length} turn 1, {warmUpdates} updates at {Environment.GetEnvironmentVariable("WLR") ?? "1e-3"}; e.g. ...{verdictExamples[0].Prompt[^30..].Replace("\n", "|")} ->{verdictExamples[0].Response}");
    var judge = new StepWiser.ML.Judging.ResultFirstJudge(gen, rf, judgeOptions);
    if (warmUpdates > 0)
    {
        new StepWiser.ML.Training.SftTrainer(model, tok, new StepWiser.ML.Training.SftOptions { Steps = warmUpdates, BatchSize = 32, LearningRate = double.Parse(Environment.GetEnvironmentVariable("WLR") ?? "1e-3"), WarmupSteps = 15, MaxSequenceLength = 1024, Seed = seed, AppendEos = true })
            .Train(verdictExamples.Concat(Environment.GetEnvironmentVariable("KEEP") == "0" ? [] : turn1.Take(int.Parse(Environment.GetEnvironmentVariable("KEEPN") ?? verdictExamples.Count.ToString()))).ToArray());
        await Score("warm-up", judge, dev);
        if (Environment.GetEnvironmentVariable("SAVEWARM") is { } warmTo) HuggingFaceCheckpoint.Save(model, warmTo);
    }
    if (grpoSteps > 0)
    {
        // SAMPLE1=1: GRPO samples turn 1 too (GrpoOptions.SampleTurnOne); otherwise turn 1 is fixed to the judge's greedy lines.
        var sample1 = Environment.GetEnvironmentVariable("SAMPLE1") == "1";
        var (own, _) = await rf.WithOwnResultsAsync(gen, labelled.Select(e => e.Input).ToArray());
        var rlExamples = sample1 ? labelled.ToArray() : labelled.Select((e, i) => e with { Input = own[i] }).ToArray();
        var metrics = StepWiser.ML.Judging.JudgeRecipe.Reinforce(model, tok, rf.TurnTwo, rlExamples, new StepWiser.ML.Judging.JudgeRecipeOptions
        {
            Balance = Environment.GetEnvironmentVariable("GBAL") != "0",   // GBAL=0: GRPO's prompts drawn as the labels come
            Grpo = new StepWiser.ML.Judging.GrpoOptions { Steps = grpoSteps, PromptsPerStep = 16, GroupSize = 4, MiniBatchSize = 32, LearningRate = double.Parse(Environment.GetEnvironmentVariable("GLR") ?? "1e-4"), KlCoefficient = 0.2, MaxNewTokens = 40, WarmupSteps = 5, Seed = seed, SampleTurnOne = sample1 },
        });
        Console.WriteLine($"GRPO: reward first 5 {metrics.Take(5).Average(m => m.MeanReward):F3} last 5 {metrics.TakeLast(5).Average(m => m.MeanReward):F3}; zero-advantage {metrics.Average(m => m.ZeroAdvantageShare):P0}");
        await Score("RL", judge, dev);
    }
    await Score("compare at the end", compare, dev);
    if (Environment.GetEnvironmentVariable("TEST") == "1")
    {
        var test = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark.json").ToArray();
        await Score("final judge", judge, test, "TEST");
        await Score("compare (rule)", compare, test, "TEST");
    }
}
if (cmd == "rfdiag")
{
    // rfdiag <difficulty> <folder> <model dir>: turn 1 of a result-first judge on the dev benchmark's right steps, by kind
    // of claim (+, -, *, check, set, answer): how often its line equals StepVerification.ResultWork and its result the
    // expected one; a few wrong lines.
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(1);
    using var model = HuggingFaceCheckpoint.Load(args[3]);
    var gen = new LocalTextGenerator(model, tok);
    var rf = Environment.GetEnvironmentVariable("NATIVE") == "1" ? StepVerification.ResultFirstInPolicyContext : StepVerification.ResultFirst;
    var inputs = new List<StepWiser.ML.Judging.JudgeInput>();
    foreach (var r in StepWiser.ML.Evaluation.ProcessBench.Read(args[2] + "/world-benchmark-dev.json"))
        for (int k = 0; k < (r.Label < 0 ? r.Steps.Length : r.Label); k++) { var x = new StepWiser.ML.Judging.JudgeInput(r.Problem, r.Steps.Take(k).ToArray(), r.Steps[k]); if (rf.Claim(x.Chunk) is not null && StepVerification.ResultWork(x) is not null) inputs.Add(x); }
    var (own, _) = await rf.WithOwnResultsAsync(gen, inputs);
    string Kind(StepWiser.ML.Judging.JudgeInput x) => x.Chunk.Contains("Check:") ? "check" : x.Chunk.Contains("->") ? "set" : x.Chunk.Contains("boxed") ? "answer" : x.Chunk.Contains('+') ? "+" : x.Chunk.Contains('*') ? "*" : "-";
    foreach (var g in inputs.Select((x, i) => (x, i)).GroupBy(t => Kind(t.x)))
    {
        var n = g.Count(); var line = g.Count(t => own[t.i].Reference == StepVerification.ResultWork(t.x)); var res = g.Count(t => StepWiser.ML.Judging.ResultFirstTemplate.OwnResult(own[t.i].Reference!) == StepVerification.ExpectedClaim(t.x));
        Console.WriteLine($"{g.Key}: {n} right steps, line right {line}, result right {res}");
        foreach (var t in g.Where(t => StepWiser.ML.Judging.ResultFirstTemplate.OwnResult(own[t.i].Reference!) != StepVerification.ExpectedClaim(t.x)).Take(3))
            Console.WriteLine($"   {StepWiser.ML.Judging.JudgeTemplate.OneLine(t.x.Chunk)}  want {StepVerification.ResultWork(t.x)}  got {own[t.i].Reference}");
    }
}
if (cmd == "masked")
{
    // masked <difficulty> <folder> [updates]: the judge prompt with the new step cut after its equation's "=" (its result
    // hidden), taught to write the recomputed result (the code's, from problem, history and the visible step). Scored on
    // the dev + test benchmarks' gold steps: how often its greedy result is right, and at first errors how often it
    // differs from the result the step states (what a later comparison would flag).
    var folder = args[2];
    int updates = args.Length > 3 ? int.Parse(args[3]) : 1000;
    var tok = BuiltInTokenizer.Create();
    using var pin = StepWiser.ML.Training.TorchThreads.Pin(int.Parse(Environment.GetEnvironmentVariable("THREADS") ?? "1"));
    using var model = HuggingFaceCheckpoint.Load(folder + "/policy");
    var policy = new LocalTextGenerator(model, tok);
    var Mask = MaskEquation;
    var unlabelled = await WorldJudging.UnlabelledStepsAsync(policy, world, 1200, default, 1.3f);
    var train = unlabelled.Select(Mask).OfType<(StepWiser.ML.Judging.JudgeInput Masked, string Right, string Stated)>().ToArray();
    var template = StepWiser.ML.Judging.JudgeTemplate.Numbered;
    Console.WriteLine($"{train.Length} equation steps of {unlabelled.Count}; e.g. {template.Render(train[0].Masked).Replace("\n", "|")} -> {train[0].Right}");
    if (updates > 0)
        new StepWiser.ML.Training.SftTrainer(model, tok, new StepWiser.ML.Training.SftOptions { Steps = updates, BatchSize = 32, LearningRate = 3e-3, WarmupSteps = 20, MaxSequenceLength = 1024, Seed = 1, AppendEos = true })
            .Train(train.Select(t => new StepWiser.ML.Training.SftExample(template.Render(t.Masked), t.Right)).ToArray(), new Progress<TrainingProgress>(p => { if (p.Step % 200 == 0) Console.WriteLine($"  {p.Step} loss {p.Loss:F3}"); }));
    if (Environment.GetEnvironmentVariable("SAVE") is { } savedTo) HuggingFaceCheckpoint.Save(model, savedTo);
    var bench = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").Concat(StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark.json")).ToArray();
    var items = new List<(string Prompt, string Right, string Stated, bool Error)>();
    foreach (var r in bench)
    {
        var last = r.Label < 0 ? r.Steps.Length - 1 : r.Label;
        for (int k = 0; k <= last; k++)
            if (Mask(new StepWiser.ML.Judging.JudgeInput(r.Problem, r.Steps.Take(k).ToArray(), r.Steps[k])) is { } t) items.Add((template.Render(t.Masked), t.Right, t.Stated, k == r.Label));
    }
    var outs = await policy.GenerateAsync(items.Select(i => GenerationRequest.FromText(i.Prompt, new SamplingOptions { NumSamples = 1, MaxNewTokens = 4, Temperature = 0, Seed = 1 })).ToArray());
    foreach (var err in new[] { false, true })
    {
        int n = 0, right = 0, differs = 0;
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i].Error != err) continue;
            n++;
            var said = new string(outs[i].Samples[0].Text.TakeWhile(char.IsAsciiDigit).ToArray());
            if (said == items[i].Right) right++;
            if (said != items[i].Stated) differs++;
        }
        Console.WriteLine($"{(err ? "first errors" : "right steps")}: {n}, recomputed right {right}, differs from the stated result {differs}");
    }
}

// The two-phase judge of the "twophase" command.
sealed class TwoPhaseJudge(ITextGenerator generator, bool compareOnly) : TurnTwoJudge(generator, compareOnly)
{
    static readonly System.Text.RegularExpressions.Regex Equation = new(@"(\d+)([+\-*])(\d+)=(\d+)");

    public async Task<IReadOnlyList<(string Own, string Stated)?>> OwnResultsAsync(IReadOnlyList<StepWiser.ML.Judging.JudgeInput> inputs) =>
        (await TurnTwoAsync(inputs)).Select(p => p.Stated is null ? ((string, string)?)null : (p.Own!, p.Stated)).ToArray();

    public async Task<IReadOnlyList<string>> VerdictPromptsAsync(IReadOnlyList<StepWiser.ML.Judging.JudgeInput> inputs) =>
        (await TurnTwoAsync(inputs)).Select(p => p.Prompt).ToArray();

    public override async Task<(string Prompt, string? Own, string? Stated)[]> TurnTwoAsync(IReadOnlyList<StepWiser.ML.Judging.JudgeInput> inputs)
    {
        var cut = inputs.Select(x =>
        {
            var m = Equation.Match(x.Chunk);
            var prefix = WorldJudging.PolicyPrefix(x) + ChunkParser.OpenTag;
            return m.Success ? (Prefix: prefix + x.Chunk[..m.Groups[4].Index], Stated: m.Groups[4].Value, Whole: (string?)null) : (Prefix: prefix + x.Chunk, Stated: (string?)null, Whole: x.Chunk);
        }).ToArray();
        var wanted = cut.Select((c, i) => (c, i)).Where(t => t.c.Stated is not null).ToArray();
        var outs = await generator.GenerateAsync(wanted.Select(t => GenerationRequest.FromText(t.c.Prefix, new SamplingOptions { NumSamples = 1, MaxNewTokens = 3, Temperature = 0, Seed = 1 })).ToArray());
        var result = cut.Select(c => (Prompt: c.Prefix + ChunkParser.CloseTag + "\nVerdict:", Own: (string?)null, Stated: (string?)null)).ToArray();
        for (int j = 0; j < wanted.Length; j++)
        {
            var (c, i) = wanted[j];
            var own = new string(outs[j].Samples[0].Text.TakeWhile(char.IsAsciiDigit).Take(c.Stated!.Length).ToArray());
            result[i] = (c.Prefix + own + ChunkParser.CloseTag + "\nStated: " + c.Stated + "\nVerdict:", own, c.Stated);
        }
        return result;
    }

}

// The two-turn judge of the "maskedjudge" command.
sealed class MaskedJudge(ITextGenerator generator, bool compareOnly) : TurnTwoJudge(generator, compareOnly)
{
    static readonly System.Text.RegularExpressions.Regex Equation = new(@"(\d+)([+\-*])(\d+)=(\d+)");

    public override async Task<(string Prompt, string? Own, string? Stated)[]> TurnTwoAsync(IReadOnlyList<StepWiser.ML.Judging.JudgeInput> inputs)
    {
        var template = StepWiser.ML.Judging.JudgeTemplate.Numbered;
        var cut = inputs.Select(x =>
        {
            var m = Equation.Match(x.Chunk);
            return m.Success ? (Prompt: template.Render(x with { Chunk = x.Chunk[..m.Groups[4].Index] }), Stated: (string?)m.Groups[4].Value) : (Prompt: template.Render(x), Stated: (string?)null);
        }).ToArray();
        var wanted = cut.Select((c, i) => (c, i)).Where(t => t.c.Stated is not null).ToArray();
        var outs = await generator.GenerateAsync(wanted.Select(t => GenerationRequest.FromText(t.c.Prompt, new SamplingOptions { NumSamples = 1, MaxNewTokens = 4, Temperature = 0, Seed = 1 })).ToArray());
        var result = cut.Select(c => (Prompt: c.Prompt + "\nCheck:", Own: (string?)null, Stated: (string?)null)).ToArray();
        for (int j = 0; j < wanted.Length; j++)
        {
            var (c, i) = wanted[j];
            var own = new string(outs[j].Samples[0].Text.TakeWhile(char.IsAsciiDigit).ToArray());
            result[i] = (c.Prompt + own + "\nStated: " + c.Stated + "\nCheck:" + (Environment.GetEnvironmentVariable("PAIRSINPROMPT") == "1" ? " " + StepWiser.ML.Judging.ResultFirstTemplate.Pairs(own, c.Stated!) : ""), own, c.Stated);
        }
        return result;
    }

}

// What the two judges above share: turn 2's prompts (with the judge's own result and the stated one where the step has
// an equation) come from the subclass; the verdict is "own = stated" (compareOnly) or the judge's greedy continuation.
abstract class TurnTwoJudge(ITextGenerator generator, bool compareOnly) : StepWiser.ML.Judging.IStepJudge
{
    public abstract Task<(string Prompt, string? Own, string? Stated)[]> TurnTwoAsync(IReadOnlyList<StepWiser.ML.Judging.JudgeInput> inputs);

    public async Task<IReadOnlyList<StepWiser.ML.Judging.StepVerdict>> JudgeStepsAsync(IReadOnlyList<StepWiser.ML.Judging.JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        var two = await TurnTwoAsync(inputs);
        if (compareOnly)
            return two.Select(p => { var ok = p.Stated is null || p.Own == p.Stated; return new StepWiser.ML.Judging.StepVerdict(ok, ok ? 1 : 0, p.Own ?? "", 0); }).ToArray();
        var outs = await generator.GenerateAsync(two.Select(p => GenerationRequest.FromText(p.Prompt, new SamplingOptions { NumSamples = 1, MaxNewTokens = 40, Temperature = 0, Seed = 1 })).ToArray(), cancellationToken);
        return two.Select((p, i) =>
        {
            var v = StepWiser.ML.Judging.VerdictParser.Parse(outs[i].Samples[0].Text);
            var positive = v != StepWiser.ML.Judging.Verdict.Negative;
            return new StepWiser.ML.Judging.StepVerdict(positive, positive ? 1 : 0, (p.Own ?? "") + " |" + outs[i].Samples[0].Text, v == StepWiser.ML.Judging.Verdict.Unparseable ? 1 : 0);
        }).ToArray();
    }
}

// The comparison as a rule (not a judge): the judge's turn-1 result against the stated one; steps without a claim pass.
sealed class CompareOwn(ITextGenerator gen, StepWiser.ML.Judging.ResultFirstTemplate rf) : StepWiser.ML.Judging.IStepJudge
{
    public async Task<IReadOnlyList<StepWiser.ML.Judging.StepVerdict>> JudgeStepsAsync(IReadOnlyList<StepWiser.ML.Judging.JudgeInput> inputs, CancellationToken cancellationToken = default)
    {
        var (own, tokens) = await rf.WithOwnResultsAsync(gen, inputs, cancellationToken: cancellationToken);
        return own.Select((x, i) => { var ok = rf.Claim(x.Chunk) is not { } c || StepWiser.ML.Judging.ResultFirstTemplate.OwnResult(x.Reference ?? "") == c; return new StepWiser.ML.Judging.StepVerdict(ok, ok ? 1 : 0, x.Reference ?? "", 0) { GeneratedTokens = tokens[i] }; }).ToArray();
    }
}
