using Microsoft.ML;
using Microsoft.ML.Data;

namespace StepWiser.ML.Data;

/// <summary>
/// The lazy <see cref="IDataView"/> every StepWiser transformer returns: the input's columns plus mapped columns.
/// A cursor reads the input rows of a whole batch ahead through a second cursor, makes one batched call of the
/// mapping (one model call for many rows), then serves the rows one by one; columns of the input pass through
/// untouched, and nothing is computed when no mapped column is requested.
/// </summary>
internal sealed class BatchMappedDataView<TIn, TOut> : IDataView
{
    private readonly IDataView _source;
    private readonly IReadOnlyList<string> _inputColumns;
    private readonly Func<DataViewRow, Func<TIn>> _reader;
    private readonly IReadOnlyList<OutputColumn<TOut>> _outputs;
    private readonly Func<IReadOnlyList<TIn>, IReadOnlyList<TOut>> _map;
    private readonly int _batchSize;

    public BatchMappedDataView(IDataView source, IReadOnlyList<string> inputColumns, Func<DataViewRow, Func<TIn>> reader,
        IReadOnlyList<OutputColumn<TOut>> outputs, Func<IReadOnlyList<TIn>, IReadOnlyList<TOut>> map, int batchSize)
    {
        _source = source;
        _inputColumns = inputColumns;
        _reader = reader;
        _outputs = outputs;
        _map = map;
        _batchSize = batchSize;
        Schema = AppendColumns(source.Schema, outputs);
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        var sourceCount = _source.Schema.Count;
        var mainColumns = _source.Schema.Where(c => needed.Contains(c.Index)).ToArray();
        var main = _source.GetRowCursor(mainColumns);
        var outputsNeeded = needed.Any(i => i >= sourceCount);
        var lookahead = outputsNeeded ? _source.GetRowCursor(_inputColumns.Select(n => _source.Schema[n])) : null;
        return new Cursor(this, main, lookahead, needed);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    /// <summary>The input schema with <paramref name="outputs"/> appended (an output hides an input column of the same name).</summary>
    public static DataViewSchema AppendColumns(DataViewSchema input, IReadOnlyList<OutputColumn<TOut>> outputs)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        foreach (var o in outputs) builder.AddColumn(o.Name, o.Type);
        return builder.ToSchema();
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BatchMappedDataView<TIn, TOut> _view;
        private readonly DataViewRowCursor _main;
        private readonly DataViewRowCursor? _lookahead;
        private readonly Func<TIn>? _read;
        private readonly HashSet<int> _active;
        private IReadOnlyList<TOut> _buffer = [];
        private int _index = -1;

        public Cursor(BatchMappedDataView<TIn, TOut> view, DataViewRowCursor main, DataViewRowCursor? lookahead, HashSet<int> active)
        {
            _view = view;
            _main = main;
            _lookahead = lookahead;
            _read = lookahead is null ? null : view._reader(lookahead);
            _active = active;
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _main.Position;

        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (!_main.MoveNext()) return false;
            if (_lookahead is null) return true;
            _index++;
            if (_index >= _buffer.Count)
            {
                var inputs = new List<TIn>(_view._batchSize);
                while (inputs.Count < _view._batchSize && _lookahead.MoveNext()) inputs.Add(_read!());
                _buffer = _view._map(inputs);
                if (_buffer.Count != inputs.Count)
                    throw new InvalidOperationException($"the mapping returned {_buffer.Count} rows for {inputs.Count} inputs");
                _index = 0;
            }
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var sourceCount = _view._source.Schema.Count;
            if (column.Index < sourceCount) return _main.GetGetter<TValue>(_main.Schema[column.Index]);
            if (!_active.Contains(column.Index)) throw new InvalidOperationException($"column '{column.Name}' was not requested when the cursor was created");
            var output = _view._outputs[column.Index - sourceCount];
            var getter = output.MakeGetter(() => _buffer[_index]);
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"column '{column.Name}' is {ColumnReader.Describe(output.Type)}; it cannot be read as {typeof(TValue).Name}");
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < _view._source.Schema.Count ? _main.IsColumnActive(_main.Schema[column.Index]) : _active.Contains(column.Index);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _main.Dispose();
                _lookahead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
