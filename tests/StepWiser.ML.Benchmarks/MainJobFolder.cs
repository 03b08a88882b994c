using StepWiser.ML.Annotation;
using StepWiser.ML.Judging;

/// <summary>What the benchmarks read from a main job's output folder: its saved judges and its held-out labelled solutions.</summary>
internal static class MainJobFolder
{
    /// <summary>
    /// Per scheme (by name), the held-out annotated solutions of <c>labels-*.jsonl</c>: every fifth problem, as the main
    /// job holds out (no judge trained on them; thresholds are chosen on them).
    /// </summary>
    public static Dictionary<string, IReadOnlyList<StepwiseExample>> HeldOutSolutions(string from) =>
        Enum.GetValues<LabelScheme>().ToDictionary(s => s.ToString(),
            s => HeldOutSplit.EveryNthPrompt(TrlStepwiseFormat.Read(Path.Combine(from, $"labels-{s.ToString().ToLowerInvariant()}.jsonl")), e => e.Prompt, every: 5).HeldOut);

    /// <summary>The judge a main job saved in <paramref name="dir"/> (generative or discriminative) with the label scheme it learned from, or null where the folder holds no judge (the analysis stage's checkpoints).</summary>
    /// <param name="dir">A <c>judge-*</c> folder of a main job's output.</param>
    /// <param name="configure">Changes the generative judge's options (votes, temperature) before it is built.</param>
    public static (IStepJudge Judge, IDisposable Owner, string Scheme)? LoadJudge(string dir, Func<StepwiseJudgeOptions, StepwiseJudgeOptions>? configure = null)
    {
        if (File.Exists(Path.Combine(dir, "stepwiser-judge.json")))
        {
            var t = StepwiseJudgeTransformer.Load(dir, configure: configure);
            return (t.Judge, t, t.Metadata.GetValueOrDefault("scheme", "AbsoluteQ"));
        }
        if (!Directory.GetFiles(dir, "*.json").Any(f => Path.GetFileName(f).StartsWith("stepwiser-discriminative", StringComparison.Ordinal))) return null;
        var d = DiscriminativeJudgeTransformer.Load(dir);
        // The discriminative judge's manifest does not name its scheme; the main job's folder name does.
        var name = Path.GetFileName(dir);
        return (d.Judge, d, name.Contains("rel-ratio") ? "RelativeRatio" : name.Contains("rel-effective") ? "RelativeEffective" : "AbsoluteQ");
    }
}
