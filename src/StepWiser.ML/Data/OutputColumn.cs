using Microsoft.ML;
using Microsoft.ML.Data;

namespace StepWiser.ML.Data;

/// <summary>
/// One column a StepWiser transformer adds to its input: a name, an ML.NET type, and how to read the value of a
/// mapped row. The column kinds follow the design: text, text vectors, float vectors, bool vectors, int, float, bool.
/// </summary>
internal sealed class OutputColumn<TOut>
{
    private readonly Func<Func<TOut>, Delegate> _makeGetter;

    private OutputColumn(string name, DataViewType type, Func<Func<TOut>, Delegate> makeGetter)
    {
        Name = name;
        Type = type;
        _makeGetter = makeGetter;
    }

    public string Name { get; }

    public DataViewType Type { get; }

    /// <summary>A <see cref="ValueGetter{TValue}"/> that reads this column of whatever row <paramref name="current"/> returns.</summary>
    public Delegate MakeGetter(Func<TOut> current) => _makeGetter(current);

    public static OutputColumn<TOut> Text(string name, Func<TOut, string> value) =>
        new(name, TextDataViewType.Instance, current => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = value(current()).AsMemory()));

    public static OutputColumn<TOut> TextVector(string name, Func<TOut, IReadOnlyList<string>> value) =>
        new(name, new VectorDataViewType(TextDataViewType.Instance), current => (ValueGetter<VBuffer<ReadOnlyMemory<char>>>)((ref VBuffer<ReadOnlyMemory<char>> v) =>
        {
            var items = value(current());
            var editor = VBufferEditor.Create(ref v, items.Count);
            for (var i = 0; i < items.Count; i++) editor.Values[i] = items[i].AsMemory();
            v = editor.Commit();
        }));

    public static OutputColumn<TOut> SingleVector(string name, Func<TOut, IReadOnlyList<float>> value) =>
        new(name, new VectorDataViewType(NumberDataViewType.Single), current => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) => Fill(ref v, value(current()))));

    public static OutputColumn<TOut> BooleanVector(string name, Func<TOut, IReadOnlyList<bool>> value) =>
        new(name, new VectorDataViewType(BooleanDataViewType.Instance), current => (ValueGetter<VBuffer<bool>>)((ref VBuffer<bool> v) => Fill(ref v, value(current()))));

    public static OutputColumn<TOut> Int32(string name, Func<TOut, int> value) =>
        new(name, NumberDataViewType.Int32, current => (ValueGetter<int>)((ref int v) => v = value(current())));

    public static OutputColumn<TOut> Single(string name, Func<TOut, float> value) =>
        new(name, NumberDataViewType.Single, current => (ValueGetter<float>)((ref float v) => v = value(current())));

    public static OutputColumn<TOut> Boolean(string name, Func<TOut, bool> value) =>
        new(name, BooleanDataViewType.Instance, current => (ValueGetter<bool>)((ref bool v) => v = value(current())));

    private static void Fill<T>(ref VBuffer<T> v, IReadOnlyList<T> items)
    {
        var editor = VBufferEditor.Create(ref v, items.Count);
        for (var i = 0; i < items.Count; i++) editor.Values[i] = items[i];
        v = editor.Commit();
    }
}
