using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Data;
using StepWiser.ML.Models;
using static TorchSharp.torch;

namespace StepWiser.ML.Judging;

/// <summary>
/// What both judge trainers read and what they promise an <see cref="EstimatorChain{TLastTransformer}"/>. The input is
/// either labelled steps (problem, history, chunk, label: one row per step) or, when <see cref="StepLabels"/> is set,
/// annotated solutions (problem, chunks, per-step labels of one scheme: one row per solution, as the Monte-Carlo
/// annotator writes them), which are expanded into labelled steps by <see cref="Selection"/>. The fitted judge reads
/// the problem and chunks of its <see cref="StepwiseJudgeOptions"/> and appends its verdict columns.
/// </summary>
internal sealed record JudgeTrainingInput(string Stage, string Problem, string History, string Chunk, string Label, string Chunks, string? StepLabels, StepSelection Selection)
{
    /// <summary>The labelled steps the trainer learns from.</summary>
    public IReadOnlyList<JudgeExample> Read(IDataView data) =>
        StepLabels is null ? StepwiseJudgeTrainer.ReadExamples(data, Problem, History, Chunk, Label) : ReadSolutions(data, StepLabels);

    /// <summary>
    /// The shape the fitted judge gives <paramref name="input"/>: checks the columns the trainer reads and the columns
    /// the judge reads (problem and chunks), each error naming the column, then appends the judge's outputs.
    /// </summary>
    public SchemaShape OutputShape(MLContext mlContext, SchemaShape input, StepwiseJudgeOptions judge, bool rationales)
    {
        ArgumentNullException.ThrowIfNull(input);
        var text = TextDataViewType.Instance;
        ColumnReader.Require(input, Problem, text, vector: false, Stage);
        if (StepLabels is null)
        {
            ColumnReader.Require(input, History, text, vector: true, Stage);
            ColumnReader.Require(input, Chunk, text, vector: false, Stage);
            ColumnReader.Require(input, Label, BooleanDataViewType.Instance, vector: false, Stage);
            // Labelled steps have no chunks column, so a judge fitted on them cannot transform its own input: inside a
            // chain the trainer needs solutions. Data that carries both gets the judge's columns as usual.
            if (!input.Any(c => c.Name == judge.ChunksColumnName))
                throw new ArgumentOutOfRangeException(nameof(input), $"{Stage}: the fitted judge reads the chunks column '{judge.ChunksColumnName}' (a vector of text), "
                    + "which these labelled steps lack; to fit the judge inside an EstimatorChain, train it on annotated solutions (set StepLabelsColumnName, e.g. \"StepLabels\").");
        }
        else
        {
            ColumnReader.Require(input, Chunks, text, vector: true, Stage);
            ColumnReader.Require(input, StepLabels, BooleanDataViewType.Instance, vector: true, Stage);
        }
        ColumnReader.Require(input, judge.ProblemColumnName, text, vector: false, Stage);
        ColumnReader.Require(input, judge.ChunksColumnName, text, vector: true, Stage);
        var columns = new Dictionary<string, string>
        {
            [nameof(GenerativeShape.Verdicts)] = judge.VerdictsColumnName,
            [nameof(GenerativeShape.Scores)] = judge.ScoresColumnName,
            [nameof(GenerativeShape.FirstRejected)] = judge.FirstRejectedColumnName,
        };
        if (!rationales) return SchemaShapes.Append<DiscriminativeShape>(mlContext, input, columns);
        columns[nameof(GenerativeShape.Rationales)] = judge.RationalesColumnName;
        return SchemaShapes.Append<GenerativeShape>(mlContext, input, columns);
    }

    /// <summary>Where a fit trains <paramref name="given"/>: the context's GPU when the model was given on the CPU and the context names one; else where it is (null).</summary>
    public static Device? ContextDevice(MLContext mlContext, ModelBundle given) =>
        Models.ContextDevice.Of(mlContext) is { } d && given.Device.type == TorchSharp.DeviceType.CPU && d.type != TorchSharp.DeviceType.CPU ? d : null;

    /// <summary>
    /// The bundle a fit trains: <paramref name="given"/> itself when <paramref name="inPlace"/> (moved to
    /// <paramref name="device"/> when one is given), else a copy of it on that device (its own by default).
    /// </summary>
    public static ModelBundle StartingModel(ModelBundle given, bool inPlace, Device? device)
    {
        if (!inPlace) return given.Copy(device);
        if (device is not null) given.Model.To(device, given.Model.DType);
        return given;
    }

    private List<JudgeExample> ReadSolutions(IDataView data, string stepLabels)
    {
        ColumnReader.Require(data.Schema, Problem, TextDataViewType.Instance, Stage);
        ColumnReader.Require(data.Schema, Chunks, new VectorDataViewType(TextDataViewType.Instance), Stage);
        ColumnReader.Require(data.Schema, stepLabels, new VectorDataViewType(BooleanDataViewType.Instance), Stage);
        using var cursor = data.GetRowCursor([data.Schema[Problem], data.Schema[Chunks], data.Schema[stepLabels]]);
        var problem = ColumnReader.Text(cursor, Problem);
        var chunks = ColumnReader.TextVector(cursor, Chunks);
        var labels = ColumnReader.BooleanVector(cursor, stepLabels);
        var examples = new List<JudgeExample>();
        for (var row = 0L; cursor.MoveNext(); row++)
        {
            var l = labels();
            // A solution without labels (a prefix's rollouts failed, or the row is outside this annotation shard) teaches nothing.
            if (l.Length == 0) continue;
            var c = chunks();
            if (c.Length != l.Length)
                throw new InvalidDataException($"{Stage}: row {row} has {c.Length} chunks in '{Chunks}' but {l.Length} labels in '{stepLabels}'; each chunk needs one label.");
            examples.AddRange(JudgeExample.FromSolution(problem(), c, l, Selection));
        }
        return examples;
    }

#pragma warning disable CS0649 // shape only: ML.NET reads the field types
    internal sealed class GenerativeShape
    {
        [VectorType] public bool[] Verdicts = [];
        [VectorType] public float[] Scores = [];
        [VectorType] public string[] Rationales = [];
        public int FirstRejected;
    }

    internal sealed class DiscriminativeShape
    {
        [VectorType] public bool[] Verdicts = [];
        [VectorType] public float[] Scores = [];
        public int FirstRejected;
    }
#pragma warning restore CS0649
}
