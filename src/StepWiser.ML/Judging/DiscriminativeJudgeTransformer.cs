using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

namespace StepWiser.ML.Judging;

/// <summary>
/// The discriminative baseline as an ML.NET transformer: reads the problem (text) and chunks (text vector) and adds
/// per-step verdicts (bool vector), scores P("+") (float vector) and the first rejected step (int, −1 if none), with
/// the column names of its <see cref="StepwiseJudgeOptions"/>. Saves to and loads from a folder like the generative
/// judge (model in Hugging Face layout, tokenizer, manifest).
/// </summary>
public sealed class DiscriminativeJudgeTransformer : ITransformer, IDisposable, ICancellableStage
{
    internal const string StageName = "JudgeStepsDiscriminative";
    private const string ManifestFile = "stepwiser-discriminative-judge.json";
    private readonly ModelBundle _model;
    private readonly JudgeTemplate _template;
    private readonly StepwiseJudgeOptions _options;

    internal DiscriminativeJudgeTransformer(DiscriminativeJudge judge, ModelBundle model, JudgeTemplate template, StepwiseJudgeOptions options, IReadOnlyDictionary<string, string> metadata)
    {
        Judge = judge;
        _model = model;
        _template = template;
        _options = options;
        Metadata = metadata;
    }

    /// <summary>The judge doing the work (an <see cref="IStepJudge"/> for search, selection and evaluation).</summary>
    public DiscriminativeJudge Judge { get; }

    /// <summary>The model with its tokenizer (owned by the transformer).</summary>
    public ModelBundle Model => _model;

    /// <summary>Training metadata stored in the manifest.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>What stops a transform of this stage (set by the catalog that made it: its token and the context's cancellation).</summary>
    internal StageCancellation Cancellation { get; set; }

    StageCancellation ICancellableStage.Cancellation { get => Cancellation; set => Cancellation = value; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => JudgeColumns.OutputSchema(inputSchema, _options, rationales: false, StageName);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => JudgeColumns.Transform(input, Judge, _options, rationales: false, StageName, Cancellation);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("StepWiser transformers map rows in batches; use Transform(IDataView).");

    /// <summary>Not supported: ML.NET's model zip needs APIs ML.NET keeps internal; use <c>mlContext.StepWiser().Save(model, folder)</c> (or this stage's own Save where it has one).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException(PipelineFolder.UseStepWiserSave);

    /// <summary>Writes the judge to a folder: config.json + safetensors + tokenizer.json (Hugging Face layout) and a manifest; written beside it and swapped in whole, so an existing folder is replaced, never merged with.</summary>
    public void Save(string directory)
    {
        var o = _options;
        var manifest = new Manifest(StageName, 1, _template.Name, o.ProblemColumnName, o.ChunksColumnName, o.VerdictsColumnName, o.ScoresColumnName, o.FirstRejectedColumnName,
            o.StopAtFirstNegative, o.BatchSize, new Dictionary<string, string>(Metadata));
        // Written beside the target and swapped in whole: an existing folder is replaced, never merged with (no stale shard).
        AtomicFolder.Write(directory, folder =>
        {
            _model.Save(folder);
            JudgeFolder.WriteManifest(folder, ManifestFile, manifest);
        });
    }

    /// <summary>
    /// Loads a judge written by <see cref="Save"/>; a custom template must be passed again (its name is checked). The
    /// weights load onto <paramref name="device"/> (the CPU by default) in <paramref name="dtype"/> (float32 by default,
    /// or bfloat16 or float16).
    /// </summary>
    public static DiscriminativeJudgeTransformer Load(string directory, Device? device = null, JudgeTemplate? template = null, ScalarType dtype = ScalarType.Float32)
    {
        var m = JudgeFolder.ReadManifest<Manifest>(directory, ManifestFile, "discriminative judge");
        template = JudgeFolder.Template(m.Template, template, directory);
        var options = new StepwiseJudgeOptions
        {
            ProblemColumnName = m.ProblemColumnName, ChunksColumnName = m.ChunksColumnName, VerdictsColumnName = m.VerdictsColumnName, ScoresColumnName = m.ScoresColumnName,
            FirstRejectedColumnName = m.FirstRejectedColumnName, StopAtFirstNegative = m.StopAtFirstNegative, BatchSize = m.BatchSize,
        };
        var model = ModelBundle.Load(directory, device, dtype);
        return new DiscriminativeJudgeTransformer(new DiscriminativeJudge(model.Model, model.Tokenizer, template), model, template, options, m.Metadata);
    }

    /// <inheritdoc />
    public void Dispose() => _model.Dispose();

    private sealed record Manifest(string Stage, int Version, string Template, string ProblemColumnName, string ChunksColumnName, string VerdictsColumnName, string ScoresColumnName,
        string FirstRejectedColumnName, bool StopAtFirstNegative, int BatchSize, Dictionary<string, string> Metadata);
}
