using StepWiser.ML.Data;

namespace StepWiser.ML.Annotation;

/// <summary>Options of Monte-Carlo annotation (<c>mlContext.StepWiser().Transforms.AnnotateMonteCarlo</c>).</summary>
public sealed class MonteCarloOptions
{
    private int _rollouts = 16;
    private int _batchSize = 16;
    private int _maxNewTokens = 512;
    private float _temperature = 1.0f;
    private int _maxConsecutiveFailures = 8;

    /// <summary>Input column: the prompt the policy continues (text). Default "Prompt".</summary>
    public string PromptColumnName { get; set; } = "Prompt";

    /// <summary>Input column: the chunks of the solution (text vector). Default "Chunks".</summary>
    public string ChunksColumnName { get; set; } = "Chunks";

    /// <summary>Input column: the reference answer (text). Default "Answer".</summary>
    public string AnswerColumnName { get; set; } = "Answer";

    /// <summary>Output column: Q_1..Q_H (float vector; NaN where rollouts failed). Default "StepValues".</summary>
    public string ValuesColumnName { get; set; } = "StepValues";

    /// <summary>Output column: Q_0, the value of the bare prompt (float). Default "InitialValue".</summary>
    public string InitialValueColumnName { get; set; } = "InitialValue";

    /// <summary>Output column: labels under <see cref="Scheme"/> (bool vector). Default "StepLabels".</summary>
    public string LabelsColumnName { get; set; } = "StepLabels";

    /// <summary>Output column: prefixes whose rollouts failed after retries (int). Default "FailedPrefixes".</summary>
    public string FailedColumnName { get; set; } = "FailedPrefixes";

    /// <summary>Continuations per prefix, M (paper: 16).</summary>
    public int Rollouts
    {
        get => _rollouts;
        set => _rollouts = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(Rollouts), value, "must be at least 1");
    }

    /// <summary>Sampling temperature of the continuations (default 1).</summary>
    public float Temperature
    {
        get => _temperature;
        set => _temperature = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(Temperature), value, "must be >= 0");
    }

    /// <summary>Longest continuation in tokens (default 512).</summary>
    public int MaxNewTokens
    {
        get => _maxNewTokens;
        set => _maxNewTokens = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), value, "must be at least 1");
    }

    /// <summary>Solutions per scheduling batch: all their prefixes go to the policy in one call (default 16).</summary>
    public int BatchSize
    {
        get => _batchSize;
        set => _batchSize = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(BatchSize), value, "must be at least 1");
    }

    /// <summary>Seed; each prefix's continuations use a seed derived from it and the prefix, so results do not depend on batching, order or restarts.</summary>
    public long Seed { get; set; } = 1;

    /// <summary>Label scheme of the labels column (the values serve all three; see <see cref="StepLabels"/>).</summary>
    public LabelScheme Scheme { get; set; } = LabelScheme.AbsoluteQ;

    /// <summary>γ, α and n of the schemes.</summary>
    public StepLabelOptions Labels { get; set; } = new();

    /// <summary>
    /// How the text the policy continues after chunks 1..k of a solution is written. Default <see cref="PolicyPrompt.Raw"/>,
    /// the format of the built-in world's base-model policies; for an instruct policy set
    /// <c>PolicyPrompt.Chat(bundle.ChatTemplate)</c>, its own chat template with the policy instruction.
    /// </summary>
    public PolicyPrompt Prompt { get; set; } = PolicyPrompt.Raw;

    /// <summary>
    /// Score the full solution (all chunks) by checking its own final answer instead of sampling continuations after it
    /// (default true): a complete solution's continuations can only end it.
    /// </summary>
    public bool ScoreCompleteSolutionsDirectly { get; set; } = true;

    /// <summary>Folder of the resumable rollout store; null keeps rollouts in memory only.</summary>
    public string? StoreDirectory { get; set; }

    /// <summary>This run's shard (0-based) of <see cref="ShardCount"/>; rows i with i mod ShardCount = ShardIndex are annotated.</summary>
    public int ShardIndex { get; set; }

    /// <summary>Number of shards (default 1: everything).</summary>
    public int ShardCount { get; set; } = 1;

    /// <summary>
    /// The policy's identity, part of every store key so that rollouts of different policies never mix. Give the
    /// model's content, not its folder's name: <see cref="Models.HuggingFaceCheckpoint.Fingerprint"/> for a local
    /// checkpoint, the served model id plus a revision for a remote one.
    /// </summary>
    public string PolicyName { get; set; } = "policy";

    /// <summary>
    /// Consecutive prefixes whose rollouts fail (after the policy's own retries) before annotation stops with an error
    /// (default 8): a policy that is down fails every prefix, and going on would only turn the run into missing values.
    /// Finished prefixes stay in the store, so a rerun resumes. 0 never stops.
    /// </summary>
    public int MaxConsecutiveFailures
    {
        get => _maxConsecutiveFailures;
        set => _maxConsecutiveFailures = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxConsecutiveFailures), value, "must be >= 0");
    }

    /// <summary>Receives progress after every batch.</summary>
    public IProgress<MonteCarloProgress>? Progress { get; set; }

    /// <summary>Throws naming the first invalid option.</summary>
    public void Validate()
    {
        if (ShardCount < 1) throw new ArgumentOutOfRangeException(nameof(ShardCount), ShardCount, "must be at least 1");
        if (ShardIndex < 0 || ShardIndex >= ShardCount) throw new ArgumentOutOfRangeException(nameof(ShardIndex), ShardIndex, $"must be in [0, {ShardCount})");
        ArgumentNullException.ThrowIfNull(Prompt, nameof(Prompt));
        ArgumentNullException.ThrowIfNull(Labels, nameof(Labels));
        ColumnReader.RequireNames((nameof(PromptColumnName), PromptColumnName), (nameof(ChunksColumnName), ChunksColumnName), (nameof(AnswerColumnName), AnswerColumnName),
            (nameof(ValuesColumnName), ValuesColumnName), (nameof(InitialValueColumnName), InitialValueColumnName), (nameof(LabelsColumnName), LabelsColumnName), (nameof(FailedColumnName), FailedColumnName));
    }
}
