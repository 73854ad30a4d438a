# Sophon auto_calib calibration command (seed 003), read as is by `deno task quant --config`.
python3 scripts/calib_classify_model.py \
  --model='../../models/two_input_image.onnx' \
  --data_preproccess_str='resize_h=32,resize_w=32;mean_value=103.94:116.78:123.68,scale=0.017,bgr2rgb=True;crop_h=28,crop_w=28' \
  --calib_image_source='ImageList.txt' \
  --input_data_shape='(2,3,28,28)' --input_data_name='image' --output_data_name='logits' \
  --calib_iterations=5 --test_iterations=100
