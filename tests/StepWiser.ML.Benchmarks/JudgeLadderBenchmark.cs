using System.Diagnostics;
using System.Globalization;
using StepWiser.ML.Annotation;
using StepWiser.ML.Evaluation;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using StepWiser.ML.Training;
using StepWiser.ML.Worlds;

/// <summary>
/// The judge learnability ladder (issue 14): on one main-job output folder (its policy, its Monte-Carlo labels and its
/// held-out benchmark), each row trains a judge from the same weights and reports ProcessBench F1 and balanced gold step
/// accuracy on the same benchmark, per seed, so anyone can see where signal is lost when the world, the model or the
/// recipe changes. Gold labels appear in one row only, the discriminative ceiling, and are named as such.
/// Usage: --suite judge-ladder --from OUT [--seeds 1,2,3] [--rows a,b,…]
/// </summary>
internal static class JudgeLadderBenchmark
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run(string from, IReadOnlyList<int> seeds, IReadOnlySet<string>? rows, JudgeRecipeOptions recipe, int pretrainProblems, bool balancePretrain, int baseUpdates = 0, double baseLearningRate = 3e-4,
        string? judgeModel = null)
    {
        if (balancePretrain) recipe = recipe with { PretrainBalanceBy = JudgeRecipeOptions.BySameOrDifferent };
        var clock = Stopwatch.StartNew();
        var tokenizer = BuiltInTokenizer.Create();
        var policyDir = Path.Combine(from, "policy");
        using var policyModel = HuggingFaceCheckpoint.Load(policyDir);
        var policy = new LocalTextGenerator(policyModel, tokenizer);
        var world = new ArithmeticChainWorld();
        var data = LadderData.Load(from, world, policy, pretrainProblems);
        Console.WriteLine(F($"judge ladder on {from}: {data.Train[LabelScheme.AbsoluteQ].Count} training solutions, {data.Unlabelled.Count} unlabelled steps, benchmark {data.Benchmark.Count} solutions ({clock.Elapsed:mm\\:ss} to prepare)"));
        Console.WriteLine("| row | seed | Avg. F1 | balanced gold step acc. | positive acc. | negative acc. | conclusion = world teacher's | calibrated: threshold, Avg. F1, balanced | minutes |\n|---|---|---|---|---|---|---|---|---|");
        bool Want(string name) => rows is null || rows.Contains(name);
        var scratch = Directory.CreateTempSubdirectory("judge-ladder").FullName;
        try
        {
            var judgeBase = policyDir;
            if (judgeModel is not null && baseUpdates < 1) throw new ArgumentException("--judge-model needs --base-updates N (the judge base is trained from scratch on the world's solutions)");
            if (baseUpdates > 0)
            {
                // The judge's base: the policy's own supervised recipe continued for more updates (no judge labels), or,
                // with --judge-model, that recipe from scratch on a model of another size.
                var start = clock.Elapsed;
                var config = judgeModel switch
                {
                    null => null,
                    "tiny" => BuiltInModels.Tiny,
                    "small" => BuiltInModels.Small,
                    "medium" => BuiltInModels.Medium,
                    _ => throw new ArgumentException($"--judge-model {judgeModel}: expected tiny, small or medium"),
                };
                using var model = config is null ? HuggingFaceCheckpoint.Load(policyDir) : CausalLM.CreateRandom(config, seed: 7);
                var examples = WorldPolicy.TrainingProblems(world, new WorldPolicyOptions()).Select(WorldPolicy.ToExample).ToArray();
                new SftTrainer(model, tokenizer, new SftOptions { Steps = baseUpdates, BatchSize = new WorldPolicyOptions().BatchSize, LearningRate = baseLearningRate, WarmupSteps = Math.Min(100, baseUpdates / 10), MaxSequenceLength = 768, Seed = 7 }).Train(examples);
                judgeBase = Path.Combine(scratch, "judge-base");
                HuggingFaceCheckpoint.Save(model, judgeBase);
                var check = WorldPolicy.EvaluateAsync(new LocalTextGenerator(model, tokenizer), world.Generate("heldout", 200, 1), new SamplingOptions { NumSamples = 1, MaxNewTokens = world.Options.SolutionTokenBudget, Temperature = 1, Seed = 1 }).GetAwaiter().GetResult();
                Console.WriteLine(F($"judge base: {(config is null ? "the policy +" : $"a {judgeModel} model ({model.ParameterCount:N0} parameters) from scratch,")} {baseUpdates} supervised updates at lr {baseLearningRate}: T = 1 accuracy {100 * check.Accuracy:F1} % on 200 held-out problems ({(clock.Elapsed - start).TotalMinutes:F1} min)"));
            }
            Func<JudgeInput, string>? solveFirst = null;
            (Func<JudgeInput, string> Analysis, JudgeTemplate Template)? blind = null;
            Writer? writer = null;
            foreach (var seed in seeds)
            {
                var o = WithSeed(recipe, seed);
                var absQ = JudgeRecipe.SelectSteps(data.Train[LabelScheme.AbsoluteQ], o.StepSelection);
                string Pretrained(string name, Func<JudgeInput, string> analysis, (IReadOnlyList<JudgeInput> Steps, JudgeTemplate Template)? practice = null, JudgeTemplate? template = null)
                {
                    var dir = Path.Combine(scratch, $"{name}-{seed}");
                    if (Directory.Exists(dir)) return dir;
                    using var model = HuggingFaceCheckpoint.Load(judgeBase);
                    if (practice is { } p) JudgeRecipe.Pretrain(model, tokenizer, p.Template, p.Steps, analysis, new JudgeRecipeOptions { PretrainSteps = o.PretrainSteps, PretrainLearningRate = o.PretrainLearningRate, BatchSize = o.BatchSize, MaxSequenceLength = o.MaxSequenceLength, Seed = o.Seed });
                    else JudgeRecipe.Pretrain(model, tokenizer, template ?? JudgeTemplate.Compact, data.Unlabelled, analysis, o);
                    HuggingFaceCheckpoint.Save(model, dir);
                    return dir;
                }
                void Row(string name, Func<IStepJudge> train, LabelScheme scheme = LabelScheme.AbsoluteQ)
                {
                    if (!Want(name)) return;
                    var start = clock.Elapsed;
                    var judge = train();
                    var result = JudgeBenchmark.EvaluateAsync(judge, data.Benchmark).GetAwaiter().GetResult();
                    // The same judge with its acceptance threshold chosen on the held-out Monte-Carlo labels (no gold).
                    var choice = JudgeCalibration.ChooseThresholdAsync(judge, data.HeldOut[scheme]).GetAwaiter().GetResult();
                    var calibrated = JudgeBenchmark.EvaluateAsync(JudgeCalibration.WithThreshold(judge, choice.Threshold), data.Benchmark).GetAwaiter().GetResult();
                    (judge as IDisposable)?.Dispose();
                    var g = result.GoldSteps;
                    // How often the judge's own conclusion (Same/Different) equals the world teacher's on the gold steps (generative rows).
                    var agree = new List<bool>();
                    for (var r = 0; r < data.Benchmark.Count; r++)
                    {
                        var rec = data.Benchmark[r];
                        var last = rec.Label < 0 ? rec.Steps.Length - 1 : rec.Label;
                        for (var k = 0; k <= last; k++)
                        {
                            var text = result.Judgments[r].Rationales[k];
                            if (!text.Contains("Same.", StringComparison.Ordinal) && !text.Contains("Different.", StringComparison.Ordinal)) continue;
                            agree.Add(text.Contains("Same.", StringComparison.Ordinal) == WorldJudging.CompareAnalysis(new JudgeInput(rec.Problem, rec.Steps.Take(k).ToArray(), rec.Steps[k])).EndsWith("Same.", StringComparison.Ordinal));
                        }
                    }
                    if (Environment.GetEnvironmentVariable("LADDER_SHOW") is { } show)
                    {
                        // A few of the judge's texts on gold steps, with the world teacher's analysis (for diagnosis).
                        var shown = 0;
                        for (var r = 0; r < data.Benchmark.Count && shown < int.Parse(show); r++)
                        {
                            var rec = data.Benchmark[r];
                            var k = rec.Label < 0 ? 0 : rec.Label;
                            Console.WriteLine($"  [{(rec.Label < 0 ? "right" : "first error")}] judge: {JudgeTemplate.OneLine(result.Judgments[r].Rationales[k])}\n      teacher: {WorldJudging.CompareAnalysis(new JudgeInput(rec.Problem, rec.Steps.Take(k).ToArray(), rec.Steps[k]))}");
                            shown++;
                        }
                    }
                    var agreement = agree.Count == 0 ? "—" : F($"{100.0 * agree.Count(a => a) / agree.Count:F1}");
                    Console.WriteLine(F($"| {name} | {seed} | {100 * result.Metrics.AverageF1:F1} | {100 * g.Balanced:F1} | {100 * g.PositiveAccuracy:F1} | {100 * g.NegativeAccuracy:F1} | {agreement} | {choice.Threshold:F3}, {100 * calibrated.Metrics.AverageF1:F1}, {100 * calibrated.GoldSteps.Balanced:F1} | {(clock.Elapsed - start).TotalMinutes:F1} |"));
                }
                Func<JudgeInput, string> compare = WorldJudging.CompareAnalysis;
                // The ceiling: the discriminative judge on gold labels of the same training solutions (evaluation only).
                Row("disc-gold-ceiling", () => Disc(Pretrained("pre-compare", compare), JudgeRecipe.SelectSteps(data.TrainGold, StepSelection.UpToFirstNegative), o));
                Row("disc-absq", () => Disc(Pretrained("pre-compare", compare), absQ, o));
                Row("disc-absq-all-steps", () => Disc(Pretrained("pre-compare", compare), JudgeRecipe.SelectSteps(data.Train[LabelScheme.AbsoluteQ], StepSelection.AllSteps), o));
                Row("disc-absq-no-pretrain", () => Disc(judgeBase, absQ, o));
                Row("gen-absq-warmup", () => Gen(Pretrained("pre-compare", compare), absQ, compare, o, rl: false));
                Row("gen-absq-rl", () => Gen(Pretrained("pre-compare", compare), absQ, compare, o, rl: true));
                Row("gen-absq-all-steps", () => Gen(Pretrained("pre-compare", compare), JudgeRecipe.SelectSteps(data.Train[LabelScheme.AbsoluteQ], StepSelection.AllSteps), compare, o, rl: false));
                Row("gen-absq-no-pretrain", () => Gen(judgeBase, absQ, compare, o, rl: false));
                Row("gen-absq-rederive", () => Gen(Pretrained("pre-rederive", data.Rederive), absQ, data.Rederive, o, rl: false));
                if (Want("gen-absq-solve-first") || Want("disc-absq-solve-first")) solveFirst ??= SolveFirst(judgeBase, data);
                Row("gen-absq-solve-first", () => Gen(Pretrained("pre-solve-first", solveFirst!, template: SolveFirstTemplate), absQ, solveFirst!, o, rl: false, SolveFirstTemplate));
                Row("disc-absq-solve-first", () => Disc(Pretrained("pre-solve-first", solveFirst!, template: SolveFirstTemplate), absQ, o, SolveFirstTemplate));
                if (Want("gen-absq-blind") || Want("disc-absq-blind")) blind ??= Blind(judgeBase, data);
                Row("gen-absq-blind", () => Gen(Pretrained("pre-blind", blind!.Value.Analysis, template: blind!.Value.Template), absQ, blind!.Value.Analysis, o, rl: false, blind!.Value.Template));
                Row("disc-absq-blind", () => Disc(Pretrained("pre-blind", blind!.Value.Analysis, template: blind!.Value.Template), absQ, o, blind!.Value.Template));
                // The two-pass judge of the library (ReferenceJudge): the judge base writes its own step blind, the judge
                // compares character pairs with dense marks (practised on label-free edited pairs), then Monte-Carlo verdicts.
                if (Want("gen-absq-reference") || Want("gen-absq-reference-rl") || Want("disc-absq-reference")) writer ??= new Writer(judgeBase);
                Row("gen-absq-reference", () => writer!.Wrap(Gen(Pretrained("pre-reference", ReferenceComparison.Analysis, writer.Practice(data, o)), writer.With(absQ), ReferenceComparison.Analysis, o, rl: false, JudgeTemplate.ReferencePairs, Writer.JudgeTokens)));
                Row("gen-absq-reference-rl", () => writer!.Wrap(Gen(Pretrained("pre-reference", ReferenceComparison.Analysis, writer.Practice(data, o)), writer.With(absQ), ReferenceComparison.Analysis, o, rl: true, JudgeTemplate.ReferencePairs, Writer.JudgeTokens)));
                Row("disc-absq-reference", () => writer!.Wrap(Disc(Pretrained("pre-reference", ReferenceComparison.Analysis, writer.Practice(data, o)), writer.With(absQ), o, JudgeTemplate.ReferencePairs)));
                if (Want("compare-capacity") && seed == seeds[0]) CompareCapacity(judgeBase, data);
                Row("gen-relratio-warmup", () => Gen(Pretrained("pre-compare", compare), JudgeRecipe.SelectSteps(data.Train[LabelScheme.RelativeRatio], o.StepSelection), compare, o, rl: false), LabelScheme.RelativeRatio);
                Row("gen-releff-warmup", () => Gen(Pretrained("pre-compare", compare), JudgeRecipe.SelectSteps(data.Train[LabelScheme.RelativeEffective], o.StepSelection), compare, o, rl: false), LabelScheme.RelativeEffective);
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
        Console.WriteLine(F($"judge ladder: {clock.Elapsed:mm\\:ss} in total"));
    }

    private static IStepJudge Disc(string from, IReadOnlyList<JudgeExample> labelled, JudgeRecipeOptions o, JudgeTemplate? template = null)
    {
        var model = HuggingFaceCheckpoint.Load(from);
        return new OwnedJudge(JudgeRecipe.TrainDiscriminative(model, BuiltInTokenizer.Create(), template ?? JudgeTemplate.Compact, labelled, o), model);
    }

    private static IStepJudge Gen(string from, IReadOnlyList<JudgeExample> labelled, Func<JudgeInput, string> analysis, JudgeRecipeOptions o, bool rl, JudgeTemplate? template = null, int? maxNewTokens = null)
    {
        if (maxNewTokens is { } tokens && tokens != o.Grpo.MaxNewTokens) o = WithSeed(o, o.Seed, tokens);
        template ??= JudgeTemplate.Compact;
        var model = HuggingFaceCheckpoint.Load(from);
        var tokenizer = BuiltInTokenizer.Create();
        JudgeRecipe.WarmUp(model, tokenizer, template, labelled, analysis, o);
        if (rl) JudgeRecipe.Reinforce(model, tokenizer, template, labelled, o);
        var judge = new StepwiseJudge(new LocalTextGenerator(model, tokenizer), template, new StepwiseJudgeOptions { MaxNewTokens = o.Grpo.MaxNewTokens, StopAtFirstNegative = false });
        return new OwnedJudge(judge, model);
    }

    /// <summary>
    /// The solve-first judge: the step to judge on one line, then exactly the text a policy continues to solve (problem,
    /// history in chunk tags); the judge's analysis is its own next chunk, then whether the step is the same.
    /// </summary>
    private static readonly JudgeTemplate SolveFirstTemplate = Environment.GetEnvironmentVariable("SOLVE_FIRST_TEMPLATE") == "after"
        ? new("solve-after", input => WorldJudging.PolicyPrefix(input) + "Judge: " + JudgeTemplate.OneLine(input.Chunk) + "\n")
        : new("solve-first", input => "Judge: " + JudgeTemplate.OneLine(input.Chunk) + "\n" + WorldJudging.PolicyPrefix(input));

    /// <summary>The solve-first analyses, written by the judge's base model itself (greedy, one chunk): no gold, no label.</summary>
    private static Func<JudgeInput, string> SolveFirst(string judgeBase, LadderData data)
    {
        var all = data.AllInputs;
        var written = NextChunks(judgeBase, all);
        var analyses = all.Select((input, i) =>
        {
            var own = written[i];
            var same = SameStep(own, input.Chunk);
            var mode = Environment.GetEnvironmentVariable("SOLVE_FIRST_CHECK");
            var check = mode switch
            {
                "words" => " Check: " + WordCheck(own, input.Chunk) + ".",
                "copy" => " Step: " + JudgeTemplate.OneLine(input.Chunk).TrimEnd('.') + ".",
                "copywords" => " Step: " + JudgeTemplate.OneLine(input.Chunk).TrimEnd('.') + ". Check: " + WordCheck(own, input.Chunk) + ".",
                _ => "",
            };
            return $"{StepWiser.ML.Chunking.ChunkParser.OpenTag}{own}{StepWiser.ML.Chunking.ChunkParser.CloseTag}{check} {(same ? "Same." : "Different.")}";
        }).ToArray();
        Console.WriteLine(F($"solve-first analyses by the judge base: {all.Count} steps, {100.0 * analyses.Count(a => a.EndsWith("Same.", StringComparison.Ordinal)) / all.Count:F1} % Same"));
        return RederivationAnalysis.Lookup(all, analyses);
    }

    /// <summary>
    /// The blind judge (two passes): the judge base first writes its own next chunk from exactly the text a policy
    /// solves from, without seeing the step (greedy, every step of the unlabelled, training, held-out and benchmark
    /// solutions, computed once); the judge's prompt is that text, then its own chunk ("Mine: …") and the step ("Step:
    /// …") on adjacent lines; its analysis compares the two (SOLVE_FIRST_CHECK=words: word by word) and concludes
    /// Same/Different (string equality of two texts the judge sees: no gold, no label).
    /// </summary>
    private static (Func<JudgeInput, string> Analysis, JudgeTemplate Template) Blind(string judgeBase, LadderData data)
    {
        var (inputs, own) = OwnChunks(judgeBase, data);
        var ownOf = RederivationAnalysis.Lookup(inputs, own);
        var mode = Environment.GetEnvironmentVariable("SOLVE_FIRST_CHECK");
        var analyses = inputs.Select((input, i) =>
        {
            var same = SameStep(own[i], input.Chunk);
            var check = mode == "words" ? "Check: " + WordCheck(own[i], input.Chunk) + ". " : "";
            return check + (same ? "Same." : "Different.");
        }).ToArray();
        Console.WriteLine(F($"blind analyses by the judge base: {inputs.Length} steps, {100.0 * analyses.Count(a => a.EndsWith("Same.", StringComparison.Ordinal)) / inputs.Length:F1} % Same"));
        // BLIND_VIEW=zip: instead of two lines, one line of character pairs (own, step) aligned by position, "_" past
        // the shorter one's end ("SS uu … 22 60" for 26 against 20): a diff view, so every comparison is between
        // neighbouring tokens. A generic text operation (no world rule, no label), but a tool's view, not the judge's.
        var template = Environment.GetEnvironmentVariable("BLIND_VIEW") == "zip"
            ? new JudgeTemplate("blind-zip", input => WorldJudging.PolicyPrefix(input)
                + "Pairs: " + ReferenceComparison.Pairs(ownOf(input), JudgeTemplate.OneLine(input.Chunk)) + "\n")
            : new JudgeTemplate("blind", input => WorldJudging.PolicyPrefix(input)
                + "Mine: " + ownOf(input) + "\nStep: " + JudgeTemplate.OneLine(input.Chunk) + "\n");
        return (RederivationAnalysis.Lookup(inputs, analyses), template);
    }

    /// <summary>
    /// How well models of three shapes, trained from scratch on this comparison alone, tell the judge base's blind chunk
    /// from the step when the two sit on adjacent lines ("Mine: …\nStep: …\n" → "Same."/"Different.", string
    /// equality of the two lines as the target: no gold, no label), balanced, on the unlabelled and training steps;
    /// scored on the benchmark's gold steps (right steps should get "Same", first errors "Different"). Isolates the
    /// comparison from everything else a judge does. COMPARE_STEPS (default 1500) updates of 32.
    /// </summary>
    private static void CompareCapacity(string judgeBase, LadderData data)
    {
        var (inputs, own) = OwnChunks(judgeBase, data);
        var ownOf = RederivationAnalysis.Lookup(inputs, own);
        // COMPARE_VIEW=zip: the two texts as one line of aligned character pairs (the blind judge's diff view).
        var zip = Environment.GetEnvironmentVariable("COMPARE_VIEW") == "zip";
        string View(string mine, string step) => zip ? "Pairs: " + ReferenceComparison.Pairs(mine, step) + "\n" : "Mine: " + mine + "\nStep: " + step + "\n";
        string Prompt(JudgeInput i) => View(ownOf(i), JudgeTemplate.OneLine(i.Chunk));
        bool Same(JudgeInput i) => SameStep(ownOf(i), i.Chunk);
        // COMPARE_RESPONSE=marks: the response first copies the aligned character pairs, each followed by "=" (equal) or
        // "!" (unequal), then concludes: every comparison is a supervised decision about the two tokens just written,
        // and the conclusion only has to find a "!" in its own text (dense supervision instead of one decision token).
        var marks = Environment.GetEnvironmentVariable("COMPARE_RESPONSE") == "marks";
        string Response(string mine, string step, bool equal) => (marks ? ReferenceComparison.Marked(mine, step) + " " : "") + (equal ? "Same." : "Different.");
        var train = data.AllInputs.Select(i => new SftExample(Prompt(i), Response(ownOf(i), JudgeTemplate.OneLine(i.Chunk), Same(i)))).ToArray();
        var same = train.Where(e => e.Response.EndsWith("Same.", StringComparison.Ordinal)).ToArray();
        var different = train.Where(e => !e.Response.EndsWith("Same.", StringComparison.Ordinal)).ToArray();
        var random = new Random(1);
        var steps = int.Parse(Environment.GetEnvironmentVariable("COMPARE_STEPS") ?? "1500", Inv);
        var learningRate = double.Parse(Environment.GetEnvironmentVariable("COMPARE_LR") ?? "3e-3", Inv);
        // Synthetic pairs: one of the base's own chunks on both lines, or on the second line with one to three
        // characters changed (a digit to another digit, a letter to another letter; COMPARE_EDITS=gross: another chunk
        // altogether) — string comparison as a skill of its own, from text without any label.
        var gross = Environment.GetEnvironmentVariable("COMPARE_EDITS") == "gross";
        var digitsOnly = Environment.GetEnvironmentVariable("COMPARE_EDITS") == "digits";   // only digits changed: well-formed lines, no shortcut
        (string Mine, string Other)[] Synthetic(int count, Random r) => Enumerable.Range(0, count).Select(k =>
        {
            var mine = ownOf(data.AllInputs[r.Next(data.AllInputs.Count)]);
            if (k % 2 == 0) return (mine, mine);
            return (mine, gross ? ownOf(data.AllInputs[r.Next(data.AllInputs.Count)]) : Edit(mine, r, digitsOnly));
        }).ToArray();
        SftExample Example((string Mine, string Other) p) => new(View(p.Mine, p.Other), Response(p.Mine, p.Other, p.Mine == p.Other));
        var synthetic = Environment.GetEnvironmentVariable("COMPARE_SYNTHETIC") == "1";
        var heldOutPairs = Synthetic(400, new Random(2));   // the same kind of pairs, never trained on (scored only with COMPARE_SYNTHETIC)
        var balanced = synthetic
            ? Synthetic(steps * 32, random).Select(Example).ToArray()
            : Enumerable.Range(0, Math.Max(same.Length, different.Length) * 2).Select(k => k % 2 == 0 ? same[random.Next(same.Length)] : different[random.Next(different.Length)]).ToArray();
        var gold = new List<(JudgeInput Input, bool Right)>();
        foreach (var rec in data.Benchmark)
            for (var k = 0; k <= (rec.Label < 0 ? rec.Steps.Length - 1 : rec.Label); k++)
                gold.Add((new JudgeInput(rec.Problem, rec.Steps.Take(k).ToArray(), rec.Steps[k]), k != rec.Label));
        Console.WriteLine(F($"comparison alone: {balanced.Length} balanced training pairs ({same.Length} Same, {different.Length} Different), {gold.Count} benchmark gold steps ({gold.Count(g => !g.Right)} first errors; the blind chunk differs from {gold.Count(g => !g.Right && !Same(g.Input))} of them and equals {gold.Count(g => g.Right && Same(g.Input))} of the {gold.Count(g => g.Right)} right steps), {steps} updates of 32"));
        Console.WriteLine("| comparer (from scratch) | parameters | string truth: Same / Different right, % | gold: right steps \"Same\" / first errors \"Different\", % | balanced gold, % | minutes |\n|---|---|---|---|---|---|");
        var shapes = new[] { ("tiny", "tiny (2 layers, 64 wide)", BuiltInModels.Tiny), ("tiny4", "tiny, 4 layers", BuiltInModels.Make(hidden: 64, layers: 4, heads: 4, kvHeads: 2, intermediate: 176)), ("small", "small (4 layers, 128 wide)", BuiltInModels.Small) };
        var wanted = (Environment.GetEnvironmentVariable("COMPARE_MODELS") ?? "tiny,tiny4,small").Split(',');
        foreach (var (_, name, config) in shapes.Where(x => wanted.Contains(x.Item1)))
        {
            var clock = Stopwatch.StartNew();
            using var model = CausalLM.CreateRandom(config, seed: 7);
            var tokenizer = BuiltInTokenizer.Create();
            var trained = new SftTrainer(model, tokenizer, new SftOptions { Steps = steps, BatchSize = 32, LearningRate = learningRate, WarmupSteps = 100, MaxSequenceLength = marks ? 400 : 160, Seed = 7 }).Train(balanced);
            Console.WriteLine(F($"  {name}: loss per response token {trained.Losses.Take(100).Average():F3} (first 100 updates) -> {trained.Losses.TakeLast(100).Average():F3} (last 100)"));
            var generator = new LocalTextGenerator(model, tokenizer);
            var budget = marks ? 240 : 3;
            bool SaysSame(string text) => marks ? text.TrimEnd().EndsWith("Same.", StringComparison.Ordinal) : text.TrimStart().StartsWith('S');
            var texts = generator.GenerateAsync(gold.Select(g => GenerationRequest.FromText(Prompt(g.Input), SamplingOptions.Greedy(budget))).ToArray()).GetAwaiter().GetResult()
                .Select(r => r.Samples[0].Text).ToArray();
            var said = texts.Select(SaysSame).ToArray();
            if (Environment.GetEnvironmentVariable("COMPARE_SHOW") is { } show)   // a few missed first errors, for diagnosis
                foreach (var i in Enumerable.Range(0, gold.Count).Where(i => !gold[i].Right && said[i]).Take(int.Parse(show, Inv)))
                    Console.WriteLine($"  missed: {Prompt(gold[i].Input).TrimEnd()}\n    said: {texts[i]}");
            double Rate(Func<int, bool> where, Func<int, bool> ok) { var idx = Enumerable.Range(0, gold.Count).Where(where).ToArray(); return idx.Length == 0 ? double.NaN : 100.0 * idx.Count(ok) / idx.Length; }
            var truthSame = Rate(i => Same(gold[i].Input), i => said[i]);
            var truthDifferent = Rate(i => !Same(gold[i].Input), i => !said[i]);
            var right = Rate(i => gold[i].Right, i => said[i]);
            var errors = Rate(i => !gold[i].Right, i => !said[i]);
            Console.WriteLine(F($"| {name} | {model.ParameterCount:N0} | {truthSame:F1} / {truthDifferent:F1} | {right:F1} / {errors:F1} | {(right + errors) / 2:F1} | {clock.Elapsed.TotalMinutes:F1} |"));
            if (synthetic)
            {
                var saidHeldOut = generator.GenerateAsync(heldOutPairs.Select(p => GenerationRequest.FromText(View(p.Mine, p.Other), SamplingOptions.Greedy(budget))).ToArray()).GetAwaiter().GetResult()
                    .Select(r => SaysSame(r.Samples[0].Text)).ToArray();
                double HeldOut(bool sameLabel) { var idx = Enumerable.Range(0, heldOutPairs.Length).Where(i => (heldOutPairs[i].Mine == heldOutPairs[i].Other) == sameLabel).ToArray(); return 100.0 * idx.Count(i => saidHeldOut[i] == sameLabel) / idx.Length; }
                // Of the changed pairs: those whose changes are all digits (as in a slipped result) and the others.
                var digitOnly = heldOutPairs.Select(p => p.Mine != p.Other && DigitsOnlyChanged(p.Mine, p.Other)).ToArray();
                double Caught(bool digits) { var idx = Enumerable.Range(0, heldOutPairs.Length).Where(i => heldOutPairs[i].Mine != heldOutPairs[i].Other && digitOnly[i] == digits).ToArray(); return idx.Length == 0 ? double.NaN : 100.0 * idx.Count(i => !saidHeldOut[i]) / idx.Length; }
                Console.WriteLine(F($"  {name}: on 400 held-out synthetic pairs of the training kind, Same right {HeldOut(true):F1} %, Different right {HeldOut(false):F1} % (digits-only changes {Caught(true):F1} % of {digitOnly.Count(d => d)}, others {Caught(false):F1} %)"));
            }
        }
    }

    /// <summary>Whether two texts differ only in digits (at the same length).</summary>
    private static bool DigitsOnlyChanged(string a, string b) =>
        a.Length == b.Length && Enumerable.Range(0, a.Length).All(i => a[i] == b[i] || (char.IsDigit(a[i]) && char.IsDigit(b[i])));

    private static readonly int MaxEdits = int.Parse(Environment.GetEnvironmentVariable("COMPARE_MAX_EDITS") ?? "3", CultureInfo.InvariantCulture);

    /// <summary>One to three (COMPARE_MAX_EDITS) characters of <paramref name="text"/> changed: a digit to another digit, a letter to another letter (with <paramref name="digitsOnly"/>, digits only).</summary>
    private static string Edit(string text, Random random, bool digitsOnly = false)
    {
        var chars = text.ToCharArray();
        var editable = Enumerable.Range(0, chars.Length).Where(i => digitsOnly ? char.IsDigit(chars[i]) : char.IsLetterOrDigit(chars[i])).ToArray();
        if (editable.Length == 0) return text;
        for (var e = 1 + random.Next(MaxEdits); e > 0; e--)
        {
            var i = editable[random.Next(editable.Length)];
            var c = chars[i];
            char other;
            do other = char.IsDigit(c) ? (char)('0' + random.Next(10)) : char.IsUpper(c) ? (char)('A' + random.Next(26)) : (char)('a' + random.Next(26));
            while (other == c);
            chars[i] = other;
        }
        return new string(chars);
    }

    /// <summary>The judge base's own next chunk (greedy, without seeing the step) for every step of the unlabelled, training, held-out and benchmark solutions.</summary>
    private static (JudgeInput[] Inputs, string[] Own) OwnChunks(string judgeBase, LadderData data)
    {
        var inputs = data.AllInputs
            .Concat(data.HeldOut.Values.SelectMany(v => v).SelectMany(e => JudgeExample.FromSolution(e.Prompt, e.Completions, e.Labels).Select(x => x.Input)))
            .Concat(data.Benchmark.SelectMany(r => r.Steps.Select((c, k) => new JudgeInput(r.Problem, r.Steps.Take(k).ToArray(), c))))
            .DistinctBy(i => i.Problem + "\u0002" + string.Join("\u0001", i.History) + "\u0002" + i.Chunk).ToArray();
        return (inputs, NextChunks(judgeBase, inputs).Select(JudgeTemplate.OneLine).ToArray());
    }

    /// <summary>What the model in <paramref name="judgeBase"/> writes as the next chunk of each input (greedy, from the policy's text, without seeing the step), tags removed.</summary>
    private static string[] NextChunks(string judgeBase, IReadOnlyList<JudgeInput> inputs)
    {
        using var model = HuggingFaceCheckpoint.Load(judgeBase);
        var generator = new LocalTextGenerator(model, BuiltInTokenizer.Create());
        var sampling = SamplingOptions.Greedy(64) with { Stop = [StepWiser.ML.Chunking.ChunkParser.CloseTag] };
        var results = generator.GenerateAsync(inputs.Select(i => GenerationRequest.FromText(WorldJudging.PolicyPrefix(i), sampling)).ToArray()).GetAwaiter().GetResult();
        return results.Select(r =>
        {
            var text = r.Samples[0].Text.Trim();
            if (text.StartsWith(StepWiser.ML.Chunking.ChunkParser.OpenTag, StringComparison.Ordinal)) text = text[StepWiser.ML.Chunking.ChunkParser.OpenTag.Length..];
            return text.Replace(StepWiser.ML.Chunking.ChunkParser.CloseTag, "").Trim();
        }).ToArray();
    }

    /// <summary>Whether a written chunk and the step are the same text (on one line, a final full stop ignored): the blind and solve-first conclusions.</summary>
    private static bool SameStep(string written, string step) => JudgeTemplate.OneLine(written).TrimEnd('.') == JudgeTemplate.OneLine(step).TrimEnd('.');

    /// <summary>Word-by-word comparison of two texts: "Add=Add 95=95 01!06 …" (words are runs of letters and digits; a missing word is "?").</summary>
    private static string WordCheck(string expected, string step)
    {
        var a = System.Text.RegularExpressions.Regex.Matches(expected, @"[A-Za-z0-9]+").Select(m => m.Value).ToArray();
        var b = System.Text.RegularExpressions.Regex.Matches(step, @"[A-Za-z0-9]+").Select(m => m.Value).ToArray();
        return string.Join(" ", Enumerable.Range(0, Math.Max(a.Length, b.Length)).Select(i =>
        {
            var x = i < a.Length ? a[i] : "?";
            var y = i < b.Length ? b[i] : "?";
            return x == y ? x + "=" + y : x + "!" + y;
        }));
    }

    private static JudgeRecipeOptions WithSeed(JudgeRecipeOptions o, int seed, int? maxNewTokens = null)
    {
        var grpo = o.Grpo;
        return new JudgeRecipeOptions
        {
            StepSelection = o.StepSelection, PretrainSteps = o.PretrainSteps, WarmupSteps = o.WarmupSteps, BatchSize = o.BatchSize, PretrainLearningRate = o.PretrainLearningRate,
            WarmupLearningRate = o.WarmupLearningRate, Balance = o.Balance, MaxSequenceLength = o.MaxSequenceLength, Seed = seed, PretrainBalanceBy = o.PretrainBalanceBy,
            Grpo = new GrpoOptions
            {
                Steps = grpo.Steps, PromptsPerStep = grpo.PromptsPerStep, GroupSize = grpo.GroupSize, MiniBatchSize = grpo.MiniBatchSize, LearningRate = grpo.LearningRate,
                KlCoefficient = grpo.KlCoefficient, MaxNewTokens = maxNewTokens ?? grpo.MaxNewTokens, WarmupSteps = grpo.WarmupSteps, Temperature = grpo.Temperature, Seed = seed,
            },
        };
    }

    private static string F(FormattableString s) => s.ToString(Inv);

    /// <summary>
    /// The reference writer of the two-pass rows: the judge base, writing its own next chunk for any input (cached by
    /// problem and history inside <see cref="ReferenceJudge"/>).
    /// </summary>
    private sealed class Writer(string judgeBase)
    {
        /// <summary>The judge's budget for a marked comparison (about four tokens a character) and its verdict.</summary>
        public const int JudgeTokens = 400;

        private readonly ReferenceWriter _references = new(new LocalTextGenerator(HuggingFaceCheckpoint.Load(judgeBase), BuiltInTokenizer.Create()),
            WorldJudging.PolicyPrefix);

        /// <summary>The labelled steps with their references.</summary>
        public IReadOnlyList<JudgeExample> With(IReadOnlyList<JudgeExample> labelled) => _references.WithReferencesAsync(labelled).GetAwaiter().GetResult();

        /// <summary>Label-free practice pairs for the analysis stage, from the base's references on the unlabelled steps.</summary>
        public (IReadOnlyList<JudgeInput>, JudgeTemplate) Practice(LadderData data, JudgeRecipeOptions o)
        {
            var references = _references.WithReferencesAsync(data.Unlabelled).GetAwaiter().GetResult().Select(i => i.Reference!).ToArray();
            var maxEdits = int.Parse(Environment.GetEnvironmentVariable("REFERENCE_MAX_EDITS") ?? "6", Inv);
            return (ReferenceComparison.PracticePairs(references, o.PretrainSteps * o.BatchSize, maxEdits, o.Seed), JudgeTemplate.ReferencePairs);
        }

        /// <summary>The trained pass-2 judge behind this writer.</summary>
        public IStepJudge Wrap(IStepJudge judge) => new OwnedJudge(new ReferenceJudge(_references, judge), (IDisposable)judge);
    }

    private sealed class OwnedJudge(IStepJudge inner, IDisposable owner) : IStepJudge, IDisposable
    {
        public Task<IReadOnlyList<StepVerdict>> JudgeStepsAsync(IReadOnlyList<JudgeInput> inputs, CancellationToken cancellationToken = default) => inner.JudgeStepsAsync(inputs, cancellationToken);

        public void Dispose() => owner.Dispose();
    }
}

/// <summary>The ladder's data, all from one main-job output folder plus unlabelled policy samples.</summary>
internal sealed record LadderData(
    IReadOnlyDictionary<LabelScheme, IReadOnlyList<StepwiseExample>> Train,
    IReadOnlyList<StepwiseExample> TrainGold,
    IReadOnlyList<JudgeInput> Unlabelled,
    Func<JudgeInput, string> Rederive,
    IReadOnlyList<ProcessBenchRecord> Benchmark,
    IReadOnlyList<JudgeInput> AllInputs,
    IReadOnlyDictionary<LabelScheme, IReadOnlyList<StepwiseExample>> HeldOut)
{
    public static LadderData Load(string from, ArithmeticChainWorld world, ITextGenerator policy, int pretrainProblems)
    {
        var schemes = Enum.GetValues<LabelScheme>();
        var labelled = schemes.ToDictionary(s => s, s => TrlStepwiseFormat.Read(Path.Combine(from, $"labels-{s.ToString().ToLowerInvariant()}.jsonl")));
        // The main job holds out every fifth annotated problem; the ladder trains on the same rest.
        var train = schemes.ToDictionary(s => s, s => HeldOutSplit.EveryNthPrompt(labelled[s], e => e.Prompt, every: 5).Train);
        var heldOut = schemes.ToDictionary(s => s, s => HeldOutSplit.EveryNthPrompt(labelled[s], e => e.Prompt, every: 5).HeldOut);
        var byText = world.Generate("annotate", 4000, 1).GroupBy(p => p.Problem).ToDictionary(g => g.Key, g => g.First());
        var gold = train[LabelScheme.AbsoluteQ].Select(e => e with { Labels = ArithmeticChainWorld.Check(byText[e.Prompt], e.Completions).ChunkIsCorrect.ToArray() }).ToArray();
        var benchmarkPath = Path.Combine(from, "world-benchmark.json");
        if (!File.Exists(benchmarkPath))   // the main job writes it; built the same way when the run stopped before
            ProcessBench.Write(benchmarkPath, WorldBenchmark.BuildAsync(policy, [("world", world)], 120, seed: 5).GetAwaiter().GetResult());
        var subsetOf = WorldBenchmark.ByLength();
        var benchmark = ProcessBench.Read(benchmarkPath).Select(r => { r.Subset = subsetOf(r); return r; }).ToArray();

        // Unlabelled steps: policy samples on a split of their own, every step with its own history.
        var unlabelled = WorldJudging.UnlabelledStepsAsync(policy, world, pretrainProblems).GetAwaiter().GetResult();
        // The world-independent analysis: the policy re-derives each step (unlabelled and labelled ones alike).
        var labelledInputs = train.Values.SelectMany(v => v).DistinctBy(e => e.Prompt + string.Join("\u0001", e.Completions))
            .SelectMany(e => JudgeExample.FromSolution(e.Prompt, e.Completions, e.Labels).Select(x => x.Input)).ToArray();
        var all = unlabelled.Concat(labelledInputs).ToArray();
        var analyses = RederivationAnalysis.ComputeAsync(policy, all, WorldJudging.PolicyPrefix).GetAwaiter().GetResult();
        return new LadderData(train, gold, unlabelled, RederivationAnalysis.Lookup(all, analyses), benchmark, all, heldOut);
    }
}
