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
using static TorchSharp.torch;

/// <summary>
/// How fast the judge learns its analysis (issue 14): from a main-job folder's policy, the analysis stage on unlabelled
/// policy steps, and every <c>--every</c> updates the share of the held-out benchmark's gold steps (up to each first
/// error) whose whole world analysis the judge would write exactly (greedy; measured teacher-forced, which is the same
/// thing: every token the argmax), split by gold class. The analysis's conclusion is the verdict a judge that follows
/// it gives, so this curve bounds the judge's balanced accuracy.
/// Usage: --suite analysis-curve --from OUT [--steps 3000] [--every 250] [--pretrain-lr 3e-3] [--pretrain-problems 600] [--scratch tiny|small|medium] [--format compare|check|check-step-first] [--batch 32]
/// </summary>
internal static class AnalysisCurveBenchmark
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run(string from, int steps, int every, double lr, int pretrainProblems, int seed, string? scratch = null, string format = "compare", int batch = 32)
    {
        var clock = Stopwatch.StartNew();
        var tokenizer = BuiltInTokenizer.Create();
        var policyDir = Path.Combine(from, "policy");
        using var policyModel = HuggingFaceCheckpoint.Load(policyDir);
        var world = new ArithmeticChainWorld();
        var policy = new LocalTextGenerator(policyModel, tokenizer);
        // The judge starts from the policy's weights, or (--scratch tiny|small|medium) from random weights of that size.
        using var model = scratch is null ? HuggingFaceCheckpoint.Load(policyDir) : CausalLM.CreateRandom(scratch switch
        {
            "tiny" => BuiltInModels.Tiny, "small" => BuiltInModels.Small, "medium" => BuiltInModels.Medium,
            _ => throw new ArgumentException($"--scratch {scratch}: tiny, small or medium"),
        }, seed);
        var unlabelled = WorldJudging.UnlabelledStepsAsync(policy, world, pretrainProblems).GetAwaiter().GetResult();
        // --format compare: the compact prompt and the "find, recompute, compare" analysis; check: the numbered prompt and
        // the "look up, check each part" analysis (WorldJudging.CheckAnalysis); check-step-first: the same, step first.
        var (template, teach) = format switch
        {
            "compare" => (JudgeTemplate.Compact, (Func<JudgeInput, string>)WorldJudging.CompareAnalysis),
            "check" => (JudgeTemplate.Numbered, WorldJudging.CheckAnalysis),
            // The numbered prompt with the step under judgment first, so that the problem and the history are nearer the
            // analysis than the step's near-copies of them.
            "check-step-first" => (new JudgeTemplate("numbered-step-first", i =>
            {
                var numbered = JudgeTemplate.Numbered.Render(i);
                var at = numbered.IndexOf("New step ", StringComparison.Ordinal);
                var step = numbered[at..numbered.IndexOf("\nAnalysis:", StringComparison.Ordinal)];
                return "Judge the new step.\n" + step + "\n" + numbered["Judge the new step.\n".Length..at] + "Analysis:";
            }), WorldJudging.CheckAnalysis),
            _ => throw new ArgumentException($"--format {format}: compare, check or check-step-first"),
        };
        var pairs = unlabelled.Select(s => (Step: s, Analysis: teach(s).Trim())).ToArray();
        pairs = LabelBalancer.Balance(pairs, p => JudgeRecipeOptions.BySameOrDifferent(p.Analysis), seed).ToArray();
        var examples = pairs.Select(p => new SftExample(template.Render(p.Step), " " + p.Analysis)).ToArray();

        var bench = ProcessBench.Read(Path.Combine(from, "world-benchmark.json"));
        var held = new List<(int[] Prompt, int[] Response, bool Gold)>();
        var heldInputs = new List<JudgeInput>();
        foreach (var rec in bench)
        {
            var last = rec.Label < 0 ? rec.Steps.Length - 1 : rec.Label;
            for (var k = 0; k <= last; k++)
            {
                var input = new JudgeInput(rec.Problem, rec.Steps.Take(k).ToArray(), rec.Steps[k]);
                held.Add((tokenizer.EncodeToIds(template.Render(input)).ToArray(), tokenizer.EncodeToIds(" " + teach(input).Trim()).ToArray(), k != rec.Label));
                heldInputs.Add(input);
            }
        }
        var disagree = heldInputs.Count(i => teach(i).EndsWith("Same.", StringComparison.Ordinal) != WorldJudging.CompareAnalysis(i).EndsWith("Same.", StringComparison.Ordinal));
        var teacherRight = heldInputs.Select((i, n) => teach(i).EndsWith("Same.", StringComparison.Ordinal) == held[n].Gold).Count(x => x);
        Console.WriteLine(F($"teacher ({format}): conclusion equals the gold label on {teacherRight} of {held.Count} benchmark steps; differs from the compare teacher's on {disagree}"));
        Console.WriteLine(template.Render(heldInputs[Math.Min(3, heldInputs.Count - 1)]) + " " + teach(heldInputs[Math.Min(3, heldInputs.Count - 1)]));
        Console.WriteLine(F($"analysis curve on {from} (judge: {(scratch is null ? "the policy's weights" : $"random {scratch}, {model.ParameterCount:N0} parameters")}): {examples.Length} balanced unlabelled steps, {held.Count} benchmark gold steps ({held.Count(h => !h.Gold)} first errors); lr {lr}, {steps} updates of {batch} ({clock.Elapsed:mm\\:ss} to prepare)"));
        Console.WriteLine("| updates | exact analysis, gold-positive steps | exact analysis, first errors | conclusion \"Same\" on gold-positive steps | \"Different\" on first errors | balanced (conclusion) | train minutes |\n|---|---|---|---|---|---|---|");
        var trainClock = new Stopwatch();
        bool Check(int done)
        {
            trainClock.Stop();
            if (done % every == 0 || done == steps)
            {
                var (pos, neg) = ExactMatch(model, held);
                var (cPos, cNeg) = Conclusions(model, tokenizer, template, heldInputs, held.Select(h => h.Gold).ToArray());
                Console.WriteLine(F($"| {done} | {100 * pos:F1} | {100 * neg:F1} | {100 * cPos:F1} | {100 * cNeg:F1} | {50 * (cPos + cNeg):F1} | {trainClock.Elapsed.TotalMinutes:F1} |"));
            }
            trainClock.Start();
            return false;
        }
        Check(0);
        trainClock.Start();
        new SftTrainer(model, tokenizer, new SftOptions { Steps = steps, BatchSize = batch, LearningRate = lr, WarmupSteps = 20, MaxSequenceLength = 512, Seed = seed, AppendEos = false })
            .Train(examples, Check);
        // What the judge writes where it is wrong on first errors (greedy), beside the teacher.
        var shown = 0;
        var policyAfter = new LocalTextGenerator(model, tokenizer);
        foreach (var rec in bench.Where(r => r.Label >= 0))
        {
            var input = new JudgeInput(rec.Problem, rec.Steps.Take(rec.Label).ToArray(), rec.Steps[rec.Label]);
            var teacher = teach(input).Trim();
            var wrote = policyAfter.GenerateAsync([GenerationRequest.FromText(template.Render(input), new SamplingOptions { MaxNewTokens = 128, Temperature = 0 })]).GetAwaiter().GetResult()[0].Samples[0].Text.Trim();
            if (wrote.StartsWith(teacher, StringComparison.Ordinal)) continue;
            Console.WriteLine($"teacher: {teacher}\njudge:   {wrote.Split('\\')[0]}\n");
            if (++shown == 6) break;
        }
        Console.WriteLine(F($"analysis curve: {clock.Elapsed:mm\\:ss} in total"));
    }

    /// <summary>Greedy analyses of the held-out steps: the share of gold-positive steps concluded "Same." and of first errors concluded otherwise.</summary>
    private static (double Positive, double Negative) Conclusions(CausalLM model, Microsoft.ML.Tokenizers.Tokenizer tokenizer, JudgeTemplate template, List<JudgeInput> inputs, bool[] gold)
    {
        var generator = new LocalTextGenerator(model, tokenizer);
        var results = generator.GenerateAsync(inputs.Select(i => GenerationRequest.FromText(template.Render(i), new SamplingOptions { MaxNewTokens = 160, Temperature = 0, Stop = ["Same.", "Different."] })).ToArray()).GetAwaiter().GetResult();
        var same = results.Select(r => r.Samples[0].StopString == "Same.").ToArray();
        double Rate(bool g) { var idx = Enumerable.Range(0, gold.Length).Where(i => gold[i] == g).ToArray(); return idx.Count(i => same[i] == g) / (double)Math.Max(1, idx.Length); }
        return (Rate(true), Rate(false));
    }

    private static (double Positive, double Negative) ExactMatch(CausalLM model, List<(int[] Prompt, int[] Response, bool Gold)> held)
    {
        model.eval();
        var right = new bool[held.Count];
        using var _ = no_grad();
        for (var start = 0; start < held.Count; start += 32)
        {
            using var scope = NewDisposeScope();
            var batch = held.Skip(start).Take(32).ToArray();
            var maxLen = batch.Max(b => b.Prompt.Length + b.Response.Length);
            var ids = new long[batch.Length * maxLen];
            for (var b = 0; b < batch.Length; b++)
            {
                var seq = batch[b].Prompt.Concat(batch[b].Response).ToArray();
                for (var t = 0; t < seq.Length; t++) ids[b * maxLen + t] = seq[t];
            }
            var argmax = model.Forward(tensor(ids).view(batch.Length, maxLen)).argmax(-1).data<long>().ToArray();
            for (var b = 0; b < batch.Length; b++)
            {
                var ok = true;
                for (var j = 0; j < batch[b].Response.Length && ok; j++)
                    ok = argmax[b * maxLen + batch[b].Prompt.Length - 1 + j] == batch[b].Response[j];
                right[start + b] = ok;
            }
        }
        double Rate(bool gold) { var idx = Enumerable.Range(0, held.Count).Where(i => held[i].Gold == gold).ToArray(); return idx.Count(i => right[i]) / (double)Math.Max(1, idx.Length); }
        return (Rate(true), Rate(false));
    }

    private static string F(FormattableString s) => s.ToString(Inv);
}
