using StepWiser.ML.Judging;

/// <summary>Loads a judge a main job saved (generative or discriminative) with the label scheme it learned from.</summary>
internal static class SavedJudges
{
    /// <summary>The judge in <paramref name="dir"/>, or null where the folder holds no judge (the analysis stage's checkpoints).</summary>
    /// <param name="dir">A <c>judge-*</c> folder of a main job's output.</param>
    /// <param name="configure">Changes the generative judge's options (votes, temperature) before it is built.</param>
    public static (IStepJudge Judge, IDisposable Owner, string Scheme)? Load(string dir, Func<StepwiseJudgeOptions, StepwiseJudgeOptions>? configure = null)
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
