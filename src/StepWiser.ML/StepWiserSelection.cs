using Microsoft.ML;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.Selection;

namespace StepWiser.ML;

/// <summary>Training-data selection with a judge, reached from <c>mlContext.StepWiser().Selection</c>.</summary>
public sealed class StepWiserSelection
{
    private readonly MLContext _mlContext;

    private readonly CancellationToken _token;

    internal StepWiserSelection(MLContext mlContext, CancellationToken token)
    {
        _mlContext = mlContext;
        _token = token;
    }

    /// <summary>
    /// Stepwise rejection sampling: N solutions per prompt from the policy, the correct ones (by
    /// <paramref name="verifier"/>) scored by the judge's mean chunk score; adds the judge's pick and an outcome-only
    /// pick per row (see <see cref="JudgeDataSelectionOptions"/> for sampling and columns).
    /// </summary>
    public JudgeDataSelectionEstimator ByJudge(ITextGenerator policy, IStepJudge judge, IAnswerVerifier verifier, JudgeDataSelectionOptions options) =>
        new(_mlContext, policy, judge, verifier, options ?? throw new ArgumentNullException(nameof(options))) { CatalogToken = _token };

    /// <summary>Selection with <paramref name="samples"/> solutions per prompt at T = 1, reading Prompt, Problem and Answer.</summary>
    public JudgeDataSelectionEstimator ByJudge(ITextGenerator policy, IStepJudge judge, IAnswerVerifier verifier, int samples = 8, int maxNewTokens = 256) =>
        new(_mlContext, policy, judge, verifier, new JudgeDataSelectionOptions { Sampling = new SamplingOptions { NumSamples = samples, MaxNewTokens = maxNewTokens, Temperature = 1, Seed = 1 } }) { CatalogToken = _token };
}
