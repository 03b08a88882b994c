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
    var dev = StepWiser.ML.Evaluation.ProcessBench.Read(folder + "/world-benchmark-dev.json").ToArray();
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
    else unlabelled = await WorldJudging.UnlabelledStepsAsync(policy, world, 600);
    Console.WriteLine($"{unlabelled.Count} unlabelled steps, {labelled.Count} labelled ({labelled.Count(e => e.Label)} positive) {clock.Elapsed}");
    var flagged = unlabelled.Count(u => StepVerification.Analysis(u).Contains('!'));
    Console.WriteLine($"unlabelled flagged by the analysis: {flagged}");
    var template = StepWiser.ML.Judging.JudgeTemplate.Numbered;
    var recipe = new StepWiser.ML.Judging.JudgeRecipeOptions { PretrainSteps = analysisSteps, WarmupSteps = warmupSteps, PretrainBalanceBy = StepWiser.ML.Judging.JudgeRecipeOptions.ByFlaggedCheck, Seed = 1,
        Grpo = new StepWiser.ML.Judging.GrpoOptions { Steps = grpoSteps, PromptsPerStep = 16, GroupSize = 4, MiniBatchSize = 32, LearningRate = rlLr, KlCoefficient = kl, MaxNewTokens = 96, WarmupSteps = 5, Seed = 1 } };
    using var judgeModel = HuggingFaceCheckpoint.Load(folder + "/policy");
    var practice = Environment.GetEnvironmentVariable("PRACTICE") == "0" ? unlabelled : StepVerification.Practice(unlabelled, analysisSteps * 32, 1);   // PRACTICE=0: the sampled steps alone
    StepWiser.ML.Judging.JudgeRecipe.Pretrain(judgeModel, tok, template, practice, StepVerification.Analysis, recipe, new Progress<TrainingProgress>(p => { if (p.Step % 200 == 0) Console.WriteLine($"  analysis {p.Step} loss {p.Loss:F3}"); }));
    Console.WriteLine($"analysis stage done {clock.Elapsed}");
    async Task Score(string name)
    {
        var judge = new StepWiser.ML.Judging.StepwiseJudge(new LocalTextGenerator(judgeModel, tok), template, new StepWiser.ML.Judging.StepwiseJudgeOptions { MaxNewTokens = 96 });
        var r = await StepWiser.ML.Evaluation.JudgeBenchmark.EvaluateAsync(judge, dev);
        // analysis agreement with the teacher on gold steps up to the first error
        int agree = 0, total = 0; int shown = 0;
        for (int i = 0; i < dev.Length; i++)
        {
            var last = dev[i].Label < 0 ? dev[i].Steps.Length - 1 : dev[i].Label;
            for (int k = 0; k <= last; k++)
            {
                var input = new StepWiser.ML.Judging.JudgeInput(dev[i].Problem, dev[i].Steps.Take(k).ToArray(), dev[i].Steps[k]);
                var target = StepVerification.Analysis(input);
                var said = r.Judgments[i].Rationales[k].Trim();
                var ok = said.StartsWith(target, StringComparison.Ordinal);
                total++; if (ok) agree++;
                if (!ok && shown < 4 && k == dev[i].Label) { shown++; Console.WriteLine($"    target: {target}\n    said:   {said}"); }
            }
        }
        Console.WriteLine($"{name}: dev F1 {r.Metrics.AverageF1:P1} balanced {r.GoldSteps.Balanced:P1} (pos {r.GoldSteps.PositiveAccuracy:P1} neg {r.GoldSteps.NegativeAccuracy:P1}) analysis = teacher {agree}/{total} {clock.Elapsed}");
    }
    StepWiser.ML.Judging.JudgeRecipe.WarmUp(judgeModel, tok, template, labelled, StepVerification.Analysis, recipe);
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
if (cmd == "practice")
{
    var p = world.Generate("train", 3, 9);
    var inputs = p.SelectMany(q => q.Chunks.Select((c, k) => new StepWiser.ML.Judging.JudgeInput(q.Problem, q.Chunks.Take(k).ToArray(), c))).ToArray();
    foreach (var x in StepVerification.Practice(inputs, 12, 3)) Console.WriteLine($"{x.Chunk.Replace("\n\n", " / ")}  ->  {StepVerification.Analysis(x)}");
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
