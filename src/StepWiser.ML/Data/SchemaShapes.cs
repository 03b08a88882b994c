using Microsoft.ML;
using Microsoft.ML.Data;

namespace StepWiser.ML.Data;

/// <summary>
/// Builds the <see cref="SchemaShape"/> an estimator promises without ML.NET internals: the columns of a holder class
/// (one public field per output column), renamed to the configured column names through a public
/// <see cref="SchemaDefinition"/>, appended to the input shape by ML.NET's own CustomMapping estimator.
/// </summary>
internal static class SchemaShapes
{
    public static SchemaShape Append<THolder>(MLContext mlContext, SchemaShape input, IReadOnlyDictionary<string, string> fieldToColumn)
        where THolder : class, new()
    {
        var definition = SchemaDefinition.Create(typeof(THolder));
        foreach (var (field, column) in fieldToColumn) definition[field].ColumnName = column;
        return mlContext.Transforms.CustomMapping<NoInput, THolder>((_, _) => { }, contractName: null, outputSchemaDefinition: definition).GetOutputSchema(input);
    }

    /// <summary>The input type of the shape-only mapping: it requires no column.</summary>
    public sealed class NoInput;
}
