using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;
using StepWiser.ML.Generation;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;
using static TorchSharp.torch;

namespace StepWiser.ML.Judging;

/// <summary>
/// A stepwise judge as an ML.NET transformer: reads the problem (text) and chunks (text vector) and adds per-step
/// verdicts (bool vector), scores (float vector), rationales (text vector) and the first rejected step (int, −1 if
/// none). Lazy and batched. A judge over a local model saves to and loads from a folder (model in Hugging Face
/// layout, tokenizer, manifest); a judge over a remote server (any <see cref="ITextGenerator"/>) runs the same way.
/// </summary>
public sealed class StepwiseJudgeTransformer : ITransformer, IDisposable, ICancellableStage
{
    internal const string StageName = "JudgeSteps";
    private const string ManifestFile = "stepwiser-judge.json";
    private readonly ModelBundle? _model;

    /// <summary>A judge over a local model (the transformer takes ownership of the bundle: disposing the judge frees it).</summary>
    public StepwiseJudgeTransformer(ModelBundle model, JudgeTemplate template, StepwiseJudgeOptions? options = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        Judge = new StepwiseJudge(new LocalTextGenerator(model), template, options);
        Metadata = metadata ?? new Dictionary<string, string>();
    }

    /// <summary>
    /// A judge over any generator, e.g. <see cref="OpenAICompatibleTextGenerator"/> for a judge served by vLLM (cannot be
    /// saved); <see cref="Load(string, ITextGenerator, JudgeTemplate?, Func{StepwiseJudgeOptions, StepwiseJudgeOptions}?)"/>
    /// takes the template and options of a saved judge folder.
    /// </summary>
    public StepwiseJudgeTransformer(ITextGenerator generator, JudgeTemplate template, StepwiseJudgeOptions? options = null)
    {
        Judge = new StepwiseJudge(generator, template, options);
        Metadata = new Dictionary<string, string>();
    }

    /// <summary>The judge doing the work.</summary>
    public StepwiseJudge Judge { get; }

    /// <summary>The local model with its tokenizer, when there is one.</summary>
    public ModelBundle? Model => _model;

    /// <summary>Training metadata stored in the manifest (label scheme, steps, …).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>What stops a transform of this stage (set by the catalog that made it: its token and the context's cancellation).</summary>
    internal StageCancellation Cancellation { get; set; }

    StageCancellation ICancellableStage.Cancellation { get => Cancellation; set => Cancellation = value; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => JudgeColumns.OutputSchema(inputSchema, Judge.Options, rationales: true, StageName);

    /// <inheritdoc />
    public IDataView Transform(IDataView input) => JudgeColumns.Transform(input, Judge, Judge.Options, rationales: true, StageName, Cancellation);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("StepWiser transformers map rows in batches; use Transform(IDataView).");

    /// <summary>Not supported: ML.NET's model zip needs APIs ML.NET keeps internal; use <c>mlContext.StepWiser().Save(model, folder)</c> (or this stage's own Save where it has one).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        throw new NotSupportedException(PipelineFolder.UseStepWiserSave);

    /// <summary>Writes the judge to a folder: config.json + safetensors + tokenizer.json (Hugging Face layout, servable by vLLM) and a manifest; written beside it and swapped in whole, so an existing folder is replaced, never merged with.</summary>
    public void Save(string directory)
    {
        if (_model is null) throw new InvalidOperationException("This judge runs on a remote generator; there is no local model to save.");
        var o = Judge.Options;
        var manifest = new Manifest(StageName, 1, Judge.Template.Name, o.ProblemColumnName, o.ChunksColumnName, o.VerdictsColumnName, o.ScoresColumnName, o.RationalesColumnName,
            o.FirstRejectedColumnName, o.Votes, o.Temperature, o.MaxNewTokens, o.StopAtFirstNegative, o.BatchSize, o.Seed, new Dictionary<string, string>(Metadata), o.AcceptanceThreshold);
        // Written beside the target and swapped in whole: an existing folder is replaced, never merged with (no stale shard).
        AtomicFolder.Write(directory, folder =>
        {
            _model.Save(folder);
            JudgeFolder.WriteManifest(folder, ManifestFile, manifest);
        });
    }

    /// <summary>
    /// Loads a judge written by <see cref="Save"/>; a custom template must be passed again (its name is checked).
    /// <paramref name="configure"/> derives the options the loaded judge runs with from the saved ones, e.g.
    /// <c>o =&gt; o with { ChunksColumnName = "Steps" }</c> for ProcessBench's column. The weights load onto
    /// <paramref name="device"/> (the CPU by default) in <paramref name="dtype"/> (float32 by default, or bfloat16 or
    /// float16), straight into that type: the device never holds a float32 copy.
    /// </summary>
    public static StepwiseJudgeTransformer Load(string directory, Device? device = null, JudgeTemplate? template = null, Func<StepwiseJudgeOptions, StepwiseJudgeOptions>? configure = null,
        ScalarType dtype = ScalarType.Float32)
    {
        var (m, chosen, options) = ReadFolder(directory, template, configure);
        return new StepwiseJudgeTransformer(ModelBundle.Load(directory, device, dtype), chosen, options, m.Metadata);
    }

    /// <summary>
    /// A judge saved by <see cref="Save"/> run by <paramref name="generator"/> instead of its own weights, e.g. an
    /// <see cref="OpenAICompatibleTextGenerator"/> of the same folder served by vLLM or <c>serve</c>: the saved
    /// template and options (votes, temperature, length, columns) are read from the folder's manifest; no weight is
    /// loaded. Votes (Maj@k) reach a server as <c>n</c>. Such a judge cannot be saved.
    /// </summary>
    public static StepwiseJudgeTransformer Load(string directory, ITextGenerator generator, JudgeTemplate? template = null, Func<StepwiseJudgeOptions, StepwiseJudgeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var (_, chosen, options) = ReadFolder(directory, template, configure);
        return new StepwiseJudgeTransformer(generator, chosen, options);
    }

    private static (Manifest Manifest, JudgeTemplate Template, StepwiseJudgeOptions Options) ReadFolder(string directory, JudgeTemplate? template, Func<StepwiseJudgeOptions, StepwiseJudgeOptions>? configure)
    {
        var m = JudgeFolder.ReadManifest<Manifest>(directory, ManifestFile, "StepWiser judge");
        template = JudgeFolder.Template(m.Template, template, directory);
        var options = new StepwiseJudgeOptions
        {
            ProblemColumnName = m.ProblemColumnName, ChunksColumnName = m.ChunksColumnName, VerdictsColumnName = m.VerdictsColumnName, ScoresColumnName = m.ScoresColumnName,
            RationalesColumnName = m.RationalesColumnName, FirstRejectedColumnName = m.FirstRejectedColumnName, Votes = m.Votes, Temperature = m.Temperature,
            MaxNewTokens = m.MaxNewTokens, StopAtFirstNegative = m.StopAtFirstNegative, BatchSize = m.BatchSize, Seed = m.Seed, AcceptanceThreshold = m.AcceptanceThreshold,
        };
        if (configure is not null) options = configure(options) ?? throw new InvalidOperationException("configure returned no options");
        return (m, template, options);
    }

    /// <inheritdoc />
    public void Dispose() => _model?.Dispose();

    private sealed record Manifest(string Stage, int Version, string Template, string ProblemColumnName, string ChunksColumnName, string VerdictsColumnName, string ScoresColumnName,
        string RationalesColumnName, string FirstRejectedColumnName, int Votes, float Temperature, int MaxNewTokens, bool StopAtFirstNegative, int BatchSize, long Seed, Dictionary<string, string> Metadata,
        float? AcceptanceThreshold = null);
}
