using Microsoft.ML;
using Microsoft.ML.Data;

namespace StepWiser.ML.Data;

/// <summary>Typed readers of input columns, with errors that name the column and the expected and actual types.</summary>
internal static class ColumnReader
{
    /// <summary>The column named <paramref name="name"/>, or an error listing the columns there are.</summary>
    public static DataViewSchema.Column Find(DataViewSchema schema, string name, string stage)
    {
        if (schema.GetColumnOrNull(name) is { } column) return column;
        throw new ArgumentOutOfRangeException(nameof(name), $"{stage}: input column '{name}' not found; the input has: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"))}.");
    }

    /// <summary>Throws unless the column has the expected type.</summary>
    public static void Require(DataViewSchema schema, string name, DataViewType expected, string stage)
    {
        var column = Find(schema, name, stage);
        if (!column.Type.Equals(expected) && !(expected is VectorDataViewType ev && column.Type is VectorDataViewType av && av.ItemType.Equals(ev.ItemType)))
            throw new ArgumentOutOfRangeException(nameof(name), $"{stage}: input column '{name}' must be {Describe(expected)}, but it is {Describe(column.Type)}.");
    }

    /// <summary>Throws naming the first option that holds an empty column name.</summary>
    public static void RequireNames(params (string Option, string Value)[] names)
    {
        foreach (var (option, value) in names)
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"{option} must not be empty", option);
    }

    /// <summary>Validates a column of an estimator's input shape (used by GetOutputSchema).</summary>
    public static void Require(SchemaShape shape, string name, DataViewType expectedItem, bool vector, string stage)
    {
        var found = shape.Where(c => c.Name == name).ToArray();
        if (found.Length == 0)
            throw new ArgumentOutOfRangeException(nameof(name), $"{stage}: input column '{name}' not found; the input has: {string.Join(", ", shape.Select(c => $"'{c.Name}'"))}.");
        var c = found[^1];
        var isVector = c.Kind != SchemaShape.Column.VectorKind.Scalar;
        if (!c.ItemType.Equals(expectedItem) || isVector != vector)
            throw new ArgumentOutOfRangeException(nameof(name), $"{stage}: input column '{name}' must be {(vector ? "a vector of " : "")}{Describe(expectedItem)}, but it is {(isVector ? "a vector of " : "")}{Describe(c.ItemType)}.");
    }

    public static Func<string> Text(DataViewRow row, string name)
    {
        var getter = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[name]);
        ReadOnlyMemory<char> value = default;
        return () => { getter(ref value); return value.ToString(); };
    }

    public static Func<string[]> TextVector(DataViewRow row, string name)
    {
        var getter = row.GetGetter<VBuffer<ReadOnlyMemory<char>>>(row.Schema[name]);
        VBuffer<ReadOnlyMemory<char>> value = default;
        return () =>
        {
            getter(ref value);
            var dense = value.DenseValues().ToArray();
            return dense.Select(m => m.ToString()).ToArray();
        };
    }

    public static Func<float[]> SingleVector(DataViewRow row, string name)
    {
        var getter = row.GetGetter<VBuffer<float>>(row.Schema[name]);
        VBuffer<float> value = default;
        return () => { getter(ref value); return value.DenseValues().ToArray(); };
    }

    public static Func<bool[]> BooleanVector(DataViewRow row, string name)
    {
        var getter = row.GetGetter<VBuffer<bool>>(row.Schema[name]);
        VBuffer<bool> value = default;
        return () => { getter(ref value); return value.DenseValues().ToArray(); };
    }

    public static Func<int> Int32(DataViewRow row, string name)
    {
        var getter = row.GetGetter<int>(row.Schema[name]);
        var value = 0;
        return () => { getter(ref value); return value; };
    }

    public static string Describe(DataViewType type) => type switch
    {
        TextDataViewType => "text (string)",
        VectorDataViewType v => $"a vector of {Describe(v.ItemType)}",
        NumberDataViewType n => n.RawType.Name,
        BooleanDataViewType => "boolean",
        _ => type.ToString() ?? type.GetType().Name,
    };
}
