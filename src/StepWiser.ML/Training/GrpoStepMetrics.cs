namespace StepWiser.ML.Training;

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
public sealed record GrpoStepMetrics(int Step, double MeanReward, double RewardPositive, double RewardNegative, double ZeroAdvantageShare,
    double Entropy, double ResponseLength, double ClipFraction, double UnparseableShare, double LearningRate)
{
    /// <summary>The CSV header matching <see cref="ToCsv"/>.</summary>
    public const string CsvHeader = "step,mean_reward,reward_positive,reward_negative,zero_advantage_share,entropy,response_length,clip_fraction,unparseable_share,learning_rate";

    /// <summary>One CSV line (invariant culture).</summary>
    public string ToCsv() => string.Join(",", new double[] { Step, MeanReward, RewardPositive, RewardNegative, ZeroAdvantageShare, Entropy, ResponseLength, ClipFraction, UnparseableShare, LearningRate }
        .Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)));
}
