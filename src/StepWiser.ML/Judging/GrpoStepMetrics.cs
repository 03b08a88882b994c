namespace StepWiser.ML.Judging;

/// <summary>What one GRPO step did (also one line of the CSV log).</summary>
/// <param name="Step">1-based step.</param>
/// <param name="MeanReward">Mean reward of all responses.</param>
/// <param name="RewardPositive">Mean reward on prompts labelled positive.</param>
/// <param name="RewardNegative">Mean reward on prompts labelled negative.</param>
/// <param name="ZeroAdvantageShare">Share of groups whose responses all earned the same reward (no learning signal).</param>
/// <param name="Entropy">Mean per-token entropy of the policy on the sampled responses.</param>
/// <param name="ResponseLength">Mean response length in tokens.</param>
/// <param name="ClipFraction">Share of response tokens whose ratio was clipped.</param>
/// <param name="UnparseableShare">Share of responses without a valid verdict.</param>
/// <param name="LearningRate">Learning rate of the step.</param>
/// <param name="GenerationSeconds">Wall-clock seconds spent sampling the groups (with their log-probabilities).</param>
/// <param name="UpdateSeconds">Wall-clock seconds of the updates (forward, reference forward for the KL term, backward, AdamW).</param>
/// <param name="OtherSeconds">The rest of the step: rendering and encoding prompts, parsing verdicts, rewards, assembling batches.</param>
/// <remarks>The CSV line leaves the three timings out, so that the same seed gives the same file on every run.</remarks>
public sealed record GrpoStepMetrics(int Step, double MeanReward, double RewardPositive, double RewardNegative, double ZeroAdvantageShare,
    double Entropy, double ResponseLength, double ClipFraction, double UnparseableShare, double LearningRate,
    double GenerationSeconds = 0, double UpdateSeconds = 0, double OtherSeconds = 0)
{
    /// <summary>Wall-clock seconds of the whole step.</summary>
    public double TotalSeconds => GenerationSeconds + UpdateSeconds + OtherSeconds;

    /// <summary>The CSV header matching <see cref="ToCsv"/>.</summary>
    public const string CsvHeader = "step,mean_reward,reward_positive,reward_negative,zero_advantage_share,entropy,response_length,clip_fraction,unparseable_share,learning_rate";

    /// <summary>One CSV line (invariant culture).</summary>
    public string ToCsv() => string.Join(",", new double[] { Step, MeanReward, RewardPositive, RewardNegative, ZeroAdvantageShare, Entropy, ResponseLength, ClipFraction, UnparseableShare, LearningRate }
        .Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)));
}
